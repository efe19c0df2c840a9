-- environments/production.cfg.lua — production hardening.
--
-- Seed -> real options:
--   * limits: the seed's burst = "10kb"/"20kb" is not mod_limits syntax (burst
--     is a time window); the same intent is burst = "2s" at 5kb/s resp. 10kb/s.
--     Set only while PROSODY_RESOURCE_LIMITS is not 'false', i.e. when
--     core/security.cfg.lua enables mod_limits.
--   * log: the seed's /var/log/prosody files and syslog -> console (stdout) at
--     PROSODY_LOG_LEVEL (info by default), for container/journald collection.
--   * admin_shell_enabled = false, debug_mode = false: no such options. The
--     admin shell is a local socket only (see admin/shell); stanza debugging
--     is the alpha feature admin/debug, which production does not allow.
--   * firewall_scripts = { "/etc/prosody/firewall/production-rules.pfw" }: a
--     file nobody ships; security/firewall loads the shipped ruleset instead
--     (PROSODY_FIREWALL_SCRIPTS for your own).

environment_info = {
    name = "Production",
    description = "Live service: verified encryption for clients and servers, certificate-checked federation, stricter rate limits, no public registration",
    allow_stability = { "stable", "beta" },
    registration_open = false,
    -- Served to the public: pfe check warns without a published abuse
    -- contact (PROSODY_CONTACT_EMAIL) and wants https/wss URLs.
    public = true,
    variables = {
        PROSODY_LOG_LEVEL = "info",
        PROSODY_RESOURCE_LIMITS = "true",
    },
}

local env = pfe.env -- nil when unset or empty

-- Enhanced security settings
c2s_require_encryption = true
s2s_require_encryption = true
s2s_secure_auth = true

-- Stricter rate limiting for production (mod_limits)
if (env("PROSODY_RESOURCE_LIMITS") or "true"):lower() ~= "false" then
    limits = {
        c2s = { rate = "5kb/s", burst = "2s" },
        s2sin = { rate = "10kb/s", burst = "2s" },
    }
end

-- No public registration in production; use registration/invites.
allow_registration = false
if env("PROSODY_ALLOW_REGISTRATION") == "true" then
    log("warn", "PROSODY_ALLOW_REGISTRATION=true is overridden in production (allow_registration = false); invite users with registration/invites, or override in local.cfg.lua")
end

-- A public service publishes where abuse is reported (XEP-0157). Not a
-- validate finding (the stock config must pass --deny-warnings): a note with
-- -v here, and a warning row in pfe check.
if not env("PROSODY_CONTACT_EMAIL") then
    log("warn", "production: set PROSODY_CONTACT_EMAIL so an abuse address is published (XEP-0157); pfe check reports its absence as a warning")
end

-- Logging: core/global.cfg.lua renders PROSODY_LOG_LEVEL (set in
-- environment_info.variables above) as console logging.

log("info", "Production environment configuration loaded")

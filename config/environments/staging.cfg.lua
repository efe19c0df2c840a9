-- environments/staging.cfg.lua — a rehearsal of production: the same
-- hardening and limits, info logging, so what works here works live.

environment_info = {
    name = "Staging",
    description = "Pre-production copy of the live setup: production hardening and rate limits, info logging, no public registration",
    allow_stability = { "stable", "beta" },
    registration_open = false,
    variables = {
        PROSODY_LOG_LEVEL = "info",
        PROSODY_RESOURCE_LIMITS = "true",
    },
}

local env = pfe.env -- nil when unset or empty

c2s_require_encryption = true
s2s_require_encryption = true
s2s_secure_auth = true

if (env("PROSODY_RESOURCE_LIMITS") or "true"):lower() ~= "false" then
    limits = {
        c2s = { rate = "5kb/s", burst = "2s" },
        s2sin = { rate = "10kb/s", burst = "2s" },
    }
end

allow_registration = false

-- Logging: core/global.cfg.lua renders PROSODY_LOG_LEVEL (set in
-- environment_info.variables above) as console logging.

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

local function env(name)
    local v = os.getenv(name)
    if v == nil or v == "" then return nil end
    return v
end

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

local level = (env("PROSODY_LOG_LEVEL") or "info"):lower()
if not ({ debug = true, info = true, warn = true, error = true })[level] then
    error(("PROSODY_LOG_LEVEL must be one of debug, info, warn, error; got %q"):format(level))
end
log = {
    { levels = { min = level }, to = "console" },
}

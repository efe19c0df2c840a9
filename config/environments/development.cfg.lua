-- environments/development.cfg.lua — a developer's machine or a throw-away
-- container: verbose logs, registration allowed, self-signed certificates
-- accepted for federation, no rate limits.

environment_info = {
    name = "Development",
    description = "Local development: debug logging, open registration allowed, self-signed certificates accepted, alpha features allowed",
    allow_stability = { "stable", "beta", "alpha" },
    registration_open = true,
    variables = {
        PROSODY_LOG_LEVEL = "debug",
        PROSODY_ALLOW_REGISTRATION = "true",
        PROSODY_FEATURES_DEBUG = "true",
        PROSODY_RESOURCE_LIMITS = "false",
    },
}

local function env(name)
    local v = os.getenv(name)
    if v == nil or v == "" then return nil end
    return v
end

-- Clients still need TLS (the certificate may be self-signed); servers we
-- federate with are not required to present a valid certificate.
s2s_secure_auth = false

local level = (env("PROSODY_LOG_LEVEL") or "debug"):lower()
if not ({ debug = true, info = true, warn = true, error = true })[level] then
    error(("PROSODY_LOG_LEVEL must be one of debug, info, warn, error; got %q"):format(level))
end
log = {
    { levels = { min = level }, to = "console" },
}

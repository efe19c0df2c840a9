-- environments/testing.cfg.lua — automated tests / CI: like development
-- (registration, self-signed certificates, no rate limits) but quiet logs so
-- test output stays readable.

environment_info = {
    name = "Testing",
    description = "Automated tests and CI: like development but only warnings and errors are logged",
    allow_stability = { "stable", "beta", "alpha" },
    registration_open = true,
    variables = {
        PROSODY_LOG_LEVEL = "warn",
        PROSODY_ALLOW_REGISTRATION = "true",
        PROSODY_RESOURCE_LIMITS = "false",
    },
}

local function env(name)
    local v = os.getenv(name)
    if v == nil or v == "" then return nil end
    return v
end

s2s_secure_auth = false

local level = (env("PROSODY_LOG_LEVEL") or "warn"):lower()
if not ({ debug = true, info = true, warn = true, error = true })[level] then
    error(("PROSODY_LOG_LEVEL must be one of debug, info, warn, error; got %q"):format(level))
end
log = {
    { levels = { min = level }, to = "console" },
}

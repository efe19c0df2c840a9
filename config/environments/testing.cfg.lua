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

s2s_secure_auth = false

-- Logging: core/global.cfg.lua renders PROSODY_LOG_LEVEL (set in
-- environment_info.variables above) as console logging.

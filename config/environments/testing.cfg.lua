-- environments/testing.cfg.lua — automated tests / CI: development (which it
-- extends: registration, self-signed certificates, no rate limits) with quiet
-- logs so test output stays readable, and without stanza debugging.

environment_info = {
    name = "Testing",
    description = "Automated tests and CI: like development but only warnings and errors are logged",
    extends = "development",
    allow_stability = { "stable", "beta", "alpha" },
    registration_open = true,
    variables = {
        PROSODY_LOG_LEVEL = "warn",
        PROSODY_FEATURES_DEBUG = "false",
    },
}

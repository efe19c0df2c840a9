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
        -- A developer's machine opens no direct-TLS port (the standard and
        -- enterprise profiles ask for 5223); set a port to have one.
        PROSODY_C2S_DIRECT_TLS_PORT = "off",
    },
}

-- Clients still need TLS (the certificate may be self-signed); servers we
-- federate with are not required to present a valid certificate.
s2s_secure_auth = false

-- Logging: core/global.cfg.lua renders PROSODY_LOG_LEVEL (set in
-- environment_info.variables above) as console logging.

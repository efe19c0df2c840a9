-- features/admin/debug.cfg.lua — raw stanza logging for development.
--
-- Seed -> real: debug_mode = false (seed production) does not exist; the real
-- switches are this feature (PROSODY_FEATURES_DEBUG) and the log level
-- (PROSODY_LOG_LEVEL=debug, the development environment's default). The
-- stanzas appear only when the log level is debug. Never use in production:
-- it logs message contents.

feature_info = {
    name = "Stanza Debugging",
    description = "Logs every stanza sent and received at debug level (mod_stanza_debug); development only, it records message contents",
    xeps = {},
    stability = "alpha",
    dependencies = {},
    conflicts = {},
    modules = { "stanza_debug" },
    toggles = { "PROSODY_FEATURES_DEBUG" },
    checks = {},
}

modules_enabled = modules_enabled or {}
modules_enabled:append { "stanza_debug" }

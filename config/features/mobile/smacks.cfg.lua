-- features/mobile/smacks.cfg.lua — stream management: acknowledgements and
-- session resumption after network changes (mod_smacks, Prosody core).

feature_info = {
    name = "Stream Management",
    description = "Acknowledged delivery and quick resumption of interrupted sessions, essential on mobile networks (XEP-0198)",
    xeps = { "XEP-0198" },
    stability = "stable",
    dependencies = { "messaging/core" },
    conflicts = {},
    modules = { "smacks" },
    toggles = { "PROSODY_FEATURES_MOBILE_SMACKS" },
    checks = {
        { xep = "XEP-0198", where = "stream_post_auth", var = "urn:xmpp:sm:3", module = "smacks" },
    },
}

modules_enabled = modules_enabled or {}
modules_enabled:append { "smacks" }

-- features/mobile/csi.cfg.lua — client state indication: hold back
-- unimportant traffic (presence, chat states) while the app is in the background.

feature_info = {
    name = "Client State Indication",
    description = "Mobile clients say when they are inactive; Prosody queues unimportant stanzas meanwhile to save battery and data (XEP-0352, mod_csi_simple)",
    xeps = { "XEP-0352" },
    stability = "stable",
    dependencies = { "messaging/core" },
    conflicts = {},
    modules = { "csi_simple" },
    toggles = { "PROSODY_FEATURES_MOBILE_CSI" },
    checks = {
        { xep = "XEP-0352", where = "stream_post_auth", var = "urn:xmpp:csi:0", module = "csi_simple" },
    },
}

-- mod_csi_simple loads mod_csi, which advertises the stream feature.
modules_enabled = modules_enabled or {}
modules_enabled:append { "csi_simple" }

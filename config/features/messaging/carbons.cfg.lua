-- features/messaging/carbons.cfg.lua — copies of messages to all online devices.

feature_info = {
    name = "Message Carbons",
    description = "Every online client of an account receives copies of sent and received messages (XEP-0280)",
    xeps = { "XEP-0280" },
    stability = "stable",
    dependencies = { "messaging/core" },
    conflicts = {},
    modules = { "carbons" },
    toggles = { "PROSODY_FEATURES_MESSAGING_CARBONS" },
    checks = {
        { xep = "XEP-0280", where = "server_disco", var = "urn:xmpp:carbons:2", module = "carbons" },
    },
}

modules_enabled = modules_enabled or {}
modules_enabled:append { "carbons" }

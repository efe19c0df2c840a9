-- features/messaging/blocking.cfg.lua — users block unwanted contacts.

feature_info = {
    name = "Blocking",
    description = "Users block communication with chosen JIDs or domains (XEP-0191 blocking command, mod_blocklist)",
    xeps = { "XEP-0191" },
    stability = "stable",
    dependencies = { "messaging/core" },
    conflicts = {},
    modules = { "blocklist" },
    toggles = { "PROSODY_FEATURES_MESSAGING_BLOCKING" },
    checks = {
        { xep = "XEP-0191", where = "server_disco", var = "urn:xmpp:blocking", module = "blocklist" },
    },
}

modules_enabled = modules_enabled or {}
modules_enabled:append { "blocklist" }

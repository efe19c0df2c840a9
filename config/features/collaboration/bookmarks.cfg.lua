-- features/collaboration/bookmarks.cfg.lua — synchronised group chat bookmarks.

feature_info = {
    name = "Bookmarks",
    description = "Group chat bookmarks shared by all of a user's clients (XEP-0402 PEP bookmarks, "
        .. "with conversion from/to the old XEP-0048 private-XML format, XEP-0411)",
    xeps = { "XEP-0402", "XEP-0411", "XEP-0048" },
    stability = "stable",
    dependencies = { "messaging/core" },
    conflicts = {},
    modules = { "bookmarks" },
    toggles = { "PROSODY_FEATURES_COLLABORATION_BOOKMARKS" },
    checks = {
        { xep = "XEP-0402", where = "account_disco", var = "urn:xmpp:bookmarks:1#compat", module = "bookmarks" },
        { xep = "XEP-0411", where = "account_disco", var = "urn:xmpp:bookmarks-conversion:0", module = "bookmarks" },
        { xep = "XEP-0048", where = "account_disco", var = "urn:xmpp:bookmarks:1#compat-pep", module = "bookmarks" },
    },
}

modules_enabled = modules_enabled or {}
modules_enabled:append { "bookmarks" }

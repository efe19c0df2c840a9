-- features/messaging/vcard.cfg.lua — user profiles and avatars.
-- mod_vcard_legacy replaces mod_vcard (they conflict, Prosody refuses both):
-- it serves old vcard-temp requests from the PEP-based profile and avatar
-- data, mod_vcard4 serves XEP-0292 vCard4 over PEP.

feature_info = {
    name = "User Profiles (vCard)",
    description = "User profiles and avatars: legacy vcard-temp served from PEP (mod_vcard_legacy, XEP-0398 conversion) and vCard4 over PEP (mod_vcard4)",
    xeps = { "XEP-0054", "XEP-0292", "XEP-0398" },
    stability = "stable",
    dependencies = { "messaging/core" },
    conflicts = {},
    modules = { "vcard_legacy", "vcard4" },
    toggles = { "PROSODY_FEATURES_MESSAGING_VCARD" },
    checks = {
        { xep = "XEP-0054", where = "server_disco", var = "vcard-temp", module = "vcard_legacy" },
        { xep = "XEP-0292", where = "account_disco", var = "urn:ietf:params:xml:ns:vcard-4.0", module = "vcard4" },
        { xep = "XEP-0398", where = "account_disco", var = "urn:xmpp:pep-vcard-conversion:0", module = "vcard_legacy" },
    },
}

modules_enabled = modules_enabled or {}
modules_enabled:append { "vcard_legacy", "vcard4" }

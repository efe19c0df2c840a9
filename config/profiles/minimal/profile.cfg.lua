-- profiles/minimal/profile.cfg.lua — a small, plain XMPP server: one-to-one
-- chat, contacts, blocking and the admin shell (needed to create accounts).
-- Everything else can be switched on with its PROSODY_FEATURES_* variable.

profile_info = {
    name = "Minimal",
    description = "Lean XMPP server for personal use or a family (1-10 users): messaging, contacts, blocking",
    target_users = "1-10",
    stability = "production-ready",
    resource_requirements = {
        memory = "128MB",
        cpu = "0.5 core",
        storage = "1GB",
    },
    features = {
        "messaging/core",
        "messaging/blocking",
        "authentication/basic",
        "admin/shell",
    },
    optional_features = {
        "messaging/archive",
        "messaging/carbons",
        "messaging/vcard",
        "mobile/smacks",
        "mobile/csi",
        "mobile/push",
        "authentication/modern",
        "registration/invites",
        "collaboration/muc",
        "collaboration/bookmarks",
        "security/firewall",
    },
    -- Container limits/reservations are derived by pfe from resource_requirements;
    -- PROSODY_MEMORY_LIMIT etc. override them.
    variables = {},
}

-- Prosody's defaults suit this profile; nothing to override.

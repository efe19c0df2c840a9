-- profiles/enterprise/profile.cfg.lua — standard plus operations features:
-- metrics, compliance records, the REST API, bigger caches, a file transfer
-- proxy and STUN/TURN announcement (give Prosody PROSODY_TURN_SECRET at run
-- time for TURN credentials; without it clients get STUN only).
-- Accounts are managed by admins (prosodyctl shell, admin ad-hoc commands)
-- or live in a directory: PROSODY_FEATURES_AUTH_EXTERNAL=true with
-- PROSODY_LDAP_SERVER/PROSODY_LDAP_BASE. Invitations
-- (PROSODY_FEATURES_REGISTRATION_INVITES=true) are optional; they conflict
-- with LDAP login, where Prosody cannot create accounts.
-- web/admin is alpha: production/staging refuse it unless pfe runs with
-- --allow-unstable.
-- For hundreds of users PostgreSQL is recommended (PROSODY_STORAGE=postgres,
-- PROSODY_DB_HOST, secret db_password).

profile_info = {
    name = "Enterprise",
    description = "XMPP server for organisations (100-1000+ users) with monitoring, compliance records, an HTTP API and optional directory (LDAP) login",
    target_users = "100-1000+",
    stability = "production-ready",
    resource_requirements = {
        memory = "1GB",
        cpu = "2 cores",
        storage = "50GB",
    },
    features = {
        "messaging/core",
        "messaging/archive",
        "messaging/carbons",
        "messaging/vcard",
        "messaging/blocking",

        "authentication/basic",
        "authentication/modern",

        "collaboration/muc",
        "collaboration/bookmarks",

        "web/http",
        "web/websocket",
        "web/bosh",
        "web/upload",

        "mobile/push",
        "mobile/csi",
        "mobile/smacks",

        "security/firewall",
        "security/antispam",
        "security/monitoring",
        "security/compliance",

        "admin/shell",
        "admin/api",

        "performance/caching",

        "services/proxy65",
        "services/turn",
    },
    optional_features = {
        "authentication/external",
        "registration/invites",
        "web/admin",
    },
    -- Container limits/reservations are derived by pfe from resource_requirements;
    -- PROSODY_MEMORY_LIMIT etc. override them.
    -- Direct TLS (XEP-0368) on 5223, which CS2023 Advanced requires; the
    -- development environment switches it off again, PROSODY_C2S_DIRECT_TLS_PORT=off
    -- does anywhere.
    variables = {
        PROSODY_C2S_DIRECT_TLS_PORT = "5223",
    },
}

local function unset(name) return pfe.env(name) == nil end

-- Profile-specific defaults -------------------------------------------------------

if pfe.feature("messaging/archive") then
    default_archive_policy = "roster"
    if unset("PROSODY_ARCHIVE_EXPIRES_AFTER") then
        archive_expires_after = "1y"
    end
end

if pfe.feature("web/upload") then
    for _, domain in ipairs(pfe.domains) do Component("upload." .. domain) "http_file_share"
        if unset("PROSODY_UPLOAD_SIZE_LIMIT") then
            http_file_share_size_limit = 100 * 1024 * 1024 -- 100 MiB
        end
        http_file_share_expires_after = "30 days"
    end
end
if pfe.feature("collaboration/muc") then
    for _, domain in ipairs(pfe.domains) do Component("conference." .. domain) "muc"
        muc_room_default_public = false
        muc_room_default_members_only = true
        max_history_messages = 50
        if pfe.feature("messaging/archive") then
            muc_log_expires_after = "1y"
        end
    end
end

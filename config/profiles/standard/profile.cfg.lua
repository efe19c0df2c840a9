-- profiles/standard/profile.cfg.lua — the seed's "Standard" profile plus what a
-- real server needs that the seed forgot (vCard, blocking, stream management,
-- BOSH, invitations).
--
-- Seed -> real options: http_upload_file_size_limit (community mod_http_upload)
-- -> http_file_share_size_limit on the upload component; MUC options
-- (muc_room_default_public, max_history_messages) are set in the MUC
-- component's scope, where mod_muc reads them.

profile_info = {
    name = "Standard",
    description = "Full-featured XMPP server for small to medium teams (10-100 users)",
    target_users = "10-100",
    stability = "production-ready",
    resource_requirements = {
        memory = "256MB",
        cpu = "1 core",
        storage = "5GB",
    },
    features = {
        -- Core messaging
        "messaging/core",
        "messaging/archive",
        "messaging/carbons",
        "messaging/vcard",
        "messaging/blocking",

        -- Authentication
        "authentication/basic",
        "authentication/modern",

        -- Accounts
        "registration/invites",

        -- Collaboration
        "collaboration/muc",
        "collaboration/bookmarks",

        -- Web services
        "web/http",
        "web/websocket",
        "web/bosh",
        "web/upload",

        -- Mobile support
        "mobile/push",
        "mobile/csi",
        "mobile/smacks",

        -- Security
        "security/firewall",
        "security/antispam",

        -- Administration
        "admin/shell",
    },
    optional_features = {
        "web/admin",
        "admin/api",
        "security/monitoring",
        "security/compliance",
        "services/turn",
        "services/proxy65",
        "performance/caching",
        "registration/open",
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
    default_archive_policy = "roster"       -- archive chats with contacts (seed)
    if unset("PROSODY_ARCHIVE_EXPIRES_AFTER") then
        archive_expires_after = "1y"
    end
end

if pfe.feature("web/upload") then
    for _, domain in ipairs(pfe.domains) do Component("upload." .. domain) "http_file_share"
        if unset("PROSODY_UPLOAD_SIZE_LIMIT") then
            http_file_share_size_limit = 50 * 1024 * 1024 -- 50 MiB
        end
    end
end
if pfe.feature("collaboration/muc") then
    for _, domain in ipairs(pfe.domains) do Component("conference." .. domain) "muc"
        muc_room_default_public = false
        max_history_messages = 50
    end
end

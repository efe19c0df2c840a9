-- profiles/development/profile.cfg.lua — like standard, with open in-band
-- registration so test accounts can be created from any client, and short
-- retention. Verbose logging comes from the development environment
-- (PROSODY_LOG_LEVEL=debug); PROSODY_FEATURES_DEBUG=true adds raw stanza logs.

profile_info = {
    name = "Development",
    description = "Standard feature set with open registration and short data retention, for developing and testing clients and bots",
    target_users = "developers",
    stability = "experimental",
    resource_requirements = {
        memory = "256MB",
        cpu = "1 core",
        storage = "2GB",
    },
    features = {
        "messaging/core",
        "messaging/archive",
        "messaging/carbons",
        "messaging/vcard",
        "messaging/blocking",

        "authentication/basic",
        "authentication/modern",

        "registration/open",
        "registration/invites",

        "collaboration/muc",
        "collaboration/bookmarks",

        "web/http",
        "web/websocket",
        "web/bosh",
        "web/upload",

        "mobile/push",
        "mobile/csi",
        "mobile/smacks",

        "admin/shell",
    },
    optional_features = {
        "admin/debug",
        "admin/api",
        "web/admin",
        "security/firewall",
        "security/antispam",
        "security/monitoring",
        "security/compliance",
        "services/turn",
        "services/proxy65",
        "performance/caching",
    },
    -- Container limits/reservations are derived by pfe from resource_requirements;
    -- PROSODY_MEMORY_LIMIT etc. override them.
    variables = {},
}

local function unset(name) return pfe.env(name) == nil end

-- Profile-specific defaults -------------------------------------------------------

if pfe.feature("messaging/archive") then
    default_archive_policy = true           -- archive everything, easier to debug
    if unset("PROSODY_ARCHIVE_EXPIRES_AFTER") then
        archive_expires_after = "1w"
    end
end

if pfe.feature("web/upload") then
    for _, domain in ipairs(pfe.domains) do Component("upload." .. domain) "http_file_share"
        if unset("PROSODY_UPLOAD_SIZE_LIMIT") then
            http_file_share_size_limit = 50 * 1024 * 1024 -- 50 MiB
        end
        http_file_share_expires_after = "1 day"
    end
end
if pfe.feature("collaboration/muc") then
    for _, domain in ipairs(pfe.domains) do Component("conference." .. domain) "muc"
        muc_room_default_public = true      -- test rooms are easy to find
        max_history_messages = 50
    end
end

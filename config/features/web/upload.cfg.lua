-- features/web/upload.cfg.lua — HTTP file upload (XEP-0363) with Prosody's own
-- mod_http_file_share on the component upload.<domain>. The community
-- mod_http_upload must not be loaded next to it.
--
-- Seed -> real option: http_upload_file_size_limit (community mod_http_upload)
--   -> http_file_share_size_limit, set in the component's scope. Its value is
--   PROSODY_UPLOAD_SIZE_LIMIT (bytes, or with K/M/G suffix) or the profile's
--   default (Prosody's own default is 10 MiB).
-- Files are kept for http_file_share_expires_after (Prosody default 1 week);
-- uploads go to the data directory.

feature_info = {
    name = "File Upload",
    description = "Share files in chats by uploading them over HTTP (XEP-0363, mod_http_file_share on upload.<domain>)",
    xeps = { "XEP-0363" },
    stability = "stable",
    dependencies = { "web/http" },
    conflicts = {},
    modules = { "http_file_share" },
    toggles = { "PROSODY_FEATURES_WEB_ENABLED" },
    checks = {
        { xep = "XEP-0363", where = "component_disco", category = "store", type = "file",
          var = "urn:xmpp:http:upload:0", module = "http_file_share" },
        -- A slot is requested, a small file PUT to it (201) and fetched back.
        { xep = "XEP-0363", where = "http", probe = "upload", status = 201, module = "http_file_share" },
    },
}

local function bytes(name)
    local v = os.getenv(name)
    if v == nil or v == "" then return nil end
    local n, unit = v:match("^(%d+)%s*([KkMmGg]?)[Ii]?[Bb]?$")
    if not n then
        error(("%s must be a size in bytes or with a K/M/G suffix (e.g. 52428800 or 50M), got %q"):format(name, v))
    end
    local factor = ({ [""] = 1, k = 1024, m = 1024 ^ 2, g = 1024 ^ 3 })[unit:lower()]
    return math.tointeger(tonumber(n) * factor)
end

local size_limit = bytes("PROSODY_UPLOAD_SIZE_LIMIT")

for _, domain in ipairs(pfe.domains) do Component("upload." .. domain) "http_file_share"
    name = "File uploads"
    if size_limit then
        -- (the daily quota per user follows: ten times this limit)
        http_file_share_size_limit = size_limit
    end
end

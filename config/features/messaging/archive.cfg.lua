-- features/messaging/archive.cfg.lua — server-side message history (MAM).
-- Group chat history (mod_muc_mam) is enabled by collaboration/muc when this
-- feature is on.

feature_info = {
    name = "Message Archive",
    description = "Server-side message history (XEP-0313 MAM) with stanza IDs, so all of a user's devices can fetch past messages",
    xeps = { "XEP-0313", "XEP-0359" },
    stability = "stable",
    dependencies = { "messaging/core" },
    conflicts = {},
    modules = { "mam" },
    toggles = { "PROSODY_FEATURES_MESSAGING_ARCHIVE" },
    checks = {
        { xep = "XEP-0313", where = "account_disco", var = "urn:xmpp:mam:2", module = "mam" },
        { xep = "XEP-0359", where = "account_disco", var = "urn:xmpp:sid:0", module = "mam" },
    },
}

modules_enabled = modules_enabled or {}
modules_enabled:append { "mam" }

-- Retention: PROSODY_ARCHIVE_EXPIRES_AFTER wins; otherwise Prosody's "1w"
-- until a profile sets its own default (standard/enterprise keep a year).
local units = {
    s = true, sec = true, second = true, min = true, minute = true, h = true, hour = true,
    d = true, day = true, w = true, week = true, mon = true, month = true, y = true, year = true,
}
local expires = os.getenv("PROSODY_ARCHIVE_EXPIRES_AFTER")
if expires and expires ~= "" then
    local unit = expires:lower():match("^%d+%s*(%a+)$")
    if unit then unit = unit:gsub("s$", "") end
    if expires ~= "never" and not (unit and (units[unit] or unit == "")) then
        error(("PROSODY_ARCHIVE_EXPIRES_AFTER must be a period like 1w, 30d, 6 months, 1y or 'never', got %q"):format(expires))
    end
    archive_expires_after = expires
else
    archive_expires_after = "1w"
end

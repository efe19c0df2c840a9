-- features/security/antispam.cfg.lua — spam protection for users
-- (prosody-modules mod_anti_spam + mod_spam_reporting).
--
-- mod_anti_spam checks messages and subscription requests from strangers
-- against real-time block lists (RTBL, XEP-0060 pubsub feeds such as
-- xmppbl.org; needs outgoing federation) — PROSODY_ANTISPAM_RTBL, 'none' to
-- switch the lists off. mod_spam_reporting lets users report spam/abuse while
-- blocking a JID (XEP-0377); reports are logged with level warn.
-- Upstream labels: mod_anti_spam alpha, mod_spam_reporting beta; both load
-- cleanly on Prosody 13.0.1 and are shipped by Debian, hence beta.

feature_info = {
    name = "Anti-Spam",
    description = "Filters messages and contact requests from strangers using shared real-time block lists (mod_anti_spam) and accepts spam/abuse reports (XEP-0377)",
    xeps = { "XEP-0377" },
    stability = "beta",
    dependencies = { "messaging/core", "messaging/blocking" },
    conflicts = {},
    modules = { "anti_spam", "spam_reporting" },
    toggles = { "PROSODY_FEATURES_SECURITY_ENHANCED" },
    checks = {
        { xep = "XEP-0377", where = "server_disco", var = "urn:xmpp:reporting:1", module = "spam_reporting" },
    },
}

modules_enabled = modules_enabled or {}
modules_enabled:append { "anti_spam", "spam_reporting" }

local rtbl = os.getenv("PROSODY_ANTISPAM_RTBL") or "xmppbl.org"
local services = {}
if rtbl:lower() ~= "none" and rtbl ~= "" then
    for item in rtbl:gmatch("[^,%s]+") do
        if not item:match("^[%w%.%-@]+$") then
            error(("PROSODY_ANTISPAM_RTBL: %q is not a JID or domain of a block list service"):format(item))
        end
        table.insert(services, item)
    end
end
anti_spam_services = services

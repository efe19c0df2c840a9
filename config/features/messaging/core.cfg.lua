-- features/messaging/core.cfg.lua — what every XMPP server needs besides login:
-- rosters, service discovery, offline messages, private storage, PEP,
-- federation, server information and account self-management.
-- (The seed's design forgot these; without them clients and remote servers
-- cannot interoperate.)

feature_info = {
    name = "Core Messaging",
    description = "Rosters, presence, offline messages, service discovery, PEP, private XML storage, "
        .. "ping/time/version/uptime, account self-management (password change/deletion), "
        .. "server contact addresses and server-to-server federation (dialback, bidirectional s2s)",
    xeps = {
        "XEP-0030", "XEP-0012", "XEP-0049", "XEP-0077", "XEP-0092", "XEP-0157", "XEP-0160",
        "XEP-0163", "XEP-0199", "XEP-0202", "XEP-0220", "XEP-0237", "XEP-0288",
    },
    stability = "stable",
    dependencies = { "authentication/basic" },
    conflicts = {},
    modules = {
        "roster", "disco", "dialback", "s2s_bidi", "ping", "time", "version", "uptime",
        "private", "offline", "pep", "register", "server_contact_info",
    },
    toggles = {},
    checks = {
        { xep = "XEP-0030", where = "server_disco", var = "http://jabber.org/protocol/disco#info", module = "disco" },
        { xep = "XEP-0012", where = "server_disco", var = "jabber:iq:last", module = "uptime" },
        { xep = "XEP-0049", where = "server_disco", var = "jabber:iq:private", module = "private" },
        { xep = "XEP-0077", where = "server_disco", var = "jabber:iq:register", module = "register" },
        { xep = "XEP-0092", where = "server_disco", var = "jabber:iq:version", module = "version" },
        { xep = "XEP-0157", where = "none", module = "server_contact_info",
          why = "published as a data form (FORM_TYPE http://jabber.org/network/serverinfo) in the domain's disco#info, not as a feature var" },
        { xep = "XEP-0160", where = "server_disco", var = "msgoffline", module = "offline" },
        { xep = "XEP-0163", where = "account_disco", var = "http://jabber.org/protocol/pubsub#publish", module = "pep" },
        { xep = "XEP-0199", where = "server_disco", var = "urn:xmpp:ping", module = "ping" },
        { xep = "XEP-0202", where = "server_disco", var = "urn:xmpp:time", module = "time" },
        { xep = "XEP-0220", where = "none", module = "dialback",
          why = "server-to-server only (offered in s2s stream features), not visible to a client" },
        { xep = "XEP-0237", where = "stream_post_auth", var = "urn:xmpp:features:rosterver", module = "roster" },
        { xep = "XEP-0288", where = "none", module = "s2s_bidi",
          why = "server-to-server only (urn:xmpp:features:bidi in s2s stream features)" },
    },
}

-- offline is also auto-loaded by Prosody; listing it keeps the config explicit.
-- register: with allow_registration = false (the default, see registration/open)
-- it only lets existing users change their password or delete their account.
modules_enabled = modules_enabled or {}
modules_enabled:append {
    "roster", "disco", "dialback", "s2s_bidi", "ping", "time", "version", "uptime",
    "private", "offline", "pep", "register", "server_contact_info",
}

-- XEP-0157 contact addresses. Without PROSODY_CONTACT_EMAIL, mod_server_contact_info
-- publishes the admins' JIDs as admin addresses by itself.
local email = os.getenv("PROSODY_CONTACT_EMAIL")
if email and email ~= "" then
    if not email:match("^[^@%s]+@[^@%s]+$") then
        error(("PROSODY_CONTACT_EMAIL must be an e-mail address like abuse@example.com, got %q"):format(email))
    end
    local mailto = "mailto:" .. email
    local admin_addresses = { mailto }
    for jid in (os.getenv("PROSODY_ADMINS") or ""):gmatch("[^,%s]+") do
        table.insert(admin_addresses, "xmpp:" .. jid)
    end
    contact_info = {
        admin = admin_addresses,
        abuse = { mailto },
        security = { mailto },
        support = { mailto },
    }
end

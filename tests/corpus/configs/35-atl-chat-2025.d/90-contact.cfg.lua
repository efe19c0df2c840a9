-- re-creation of allthingslinux/xmpp.atl.chat:core/config/conf.d/90-contact-compliance.cfg.lua@9ce902b624ee39da5712ff59ec4bf8b986a40955 (licence MIT); not a copy
contact_info = {
	admin = { "xmpp:admin@atl.chat", "mailto:admin@atl.chat" },
	abuse = { "xmpp:admin@atl.chat", "mailto:admin@atl.chat" },
	support = { "xmpp:admin@atl.chat", "mailto:admin@atl.chat" },
	security = { "xmpp:admin@atl.chat", "mailto:admin@atl.chat" },
}

server_info = {
	name = "atl.chat",
	website = "https://atl.chat",
	description = "atl.chat XMPP service",
}
server_info_extensions = {
	{ name = "Source", url = "https://github.com/allthingslinux/xmpp.atl.chat" },
}

account_cleanup = {
	inactive_period = 365 * 24 * 3600,
	grace_period = 30 * 24 * 3600,
}

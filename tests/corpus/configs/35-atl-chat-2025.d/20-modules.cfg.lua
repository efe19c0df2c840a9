-- re-creation of allthingslinux/xmpp.atl.chat:core/config/conf.d/20-modules.cfg.lua@9ce902b624ee39da5712ff59ec4bf8b986a40955 (licence MIT); not a copy
plugin_paths = {
	"/usr/local/lib/prosody/community-modules",
	"/var/lib/prosody/custom_plugins",
}
plugin_server = "https://modules.prosody.im/rocks/"
installer_plugin_path = "/usr/local/lib/prosody/community-modules"

modules_enabled = {
	-- protocol core, including modules Prosody loads on its own
	"roster", "legacyauth", "saslauth", "tls", "dialback", "disco",
	"presence", "message", "iq",
	"s2s_status", "s2s_bidi", "limits",
	"version", "uptime", "time", "ping", "lastactivity",
	"mam", "carbons", "offline", "smacks", "csi_battery_saver",
	"vcard", "private", "pep", "bookmarks",
	"cloud_notify",
	"blocklist", "anti_spam", "spam_reporting", "admin_blocklist",
	"register", "welcome", "watchregistrations",
	"admin_adhoc", "admin_shell", "announce", "motd",
	"http", "bosh", "websocket", "http_files",
	"proxy65",
	"groups",
	"server_contact_info", "server_info",
	"http_openmetrics",
}

modules_disabled = {
}

-- re-creation of allthingslinux/xmpp.atl.chat:core/config/conf.d/11-logging.cfg.lua@9ce902b624ee39da5712ff59ec4bf8b986a40955 (licence MIT); not a copy
log = {
	{ levels = { min = "info" }, to = "console" },
	{ levels = { min = "info" }, to = "file", filename = "/var/log/prosody/prosody.log" },
	{ levels = { min = "warn" }, to = "file", filename = "/var/log/prosody/prosody.err" },
	{ levels = { "warn", "error" }, to = "file", filename = "/var/log/prosody/security.log" },
}

-- re-creation of allthingslinux/xmpp.atl.chat:core/config/conf.d/21-security.cfg.lua@9ce902b624ee39da5712ff59ec4bf8b986a40955 (licence MIT); not a copy
limits = {
	c2s = { rate = "10kb/s", burst = "25kb", stanza_size = 1024 * 256 },
	s2s = { rate = "30kb/s", burst = "100kb", stanza_size = 1024 * 512 },
	http_upload = { rate = "2mb/s", burst = "10mb" },
}

certificates = "certs"

c2s_require_encryption = true
s2s_require_encryption = true
s2s_secure_auth = true
allow_unencrypted_plain_auth = false
tls_channel_binding = true

authentication = "internal_hashed"
sasl_mechanisms = { "SCRAM-SHA-256", "SCRAM-SHA-1", "DIGEST-MD5" }

user_account_management = {
	grace_period = 7 * 24 * 3600,
	deletion_confirmation = true,
}

block_registrations_users = {
	"administrator", "admin", "root", "postmaster", "xmpp", "jabber",
	"contact", "mail", "abuse", "support", "security",
}
block_registrations_require = "^[a-zA-Z0-9_.-]+$"

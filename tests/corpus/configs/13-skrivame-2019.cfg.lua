-- re-creation of skrivame/prosody-config:prosody.cfg.lua@239b079d0194b1f4eee5a69bad820a65829817db (licence none stated); not a copy
-- The published config of skriva.me (2019): pep_simple next to pep, proxy65
-- both loaded globally and as a Component, http_upload as a global module,
-- s2s switched off while s2s options are still set, legacy_ssl_* names, an
-- ssl "protocol" string, and values redacted to XXXXXXX - including one left
-- as a bare name in a port list.

admins = { }

modules_enabled = {
	"roster"; "saslauth"; "tls"; "dialback"; "disco";
	"carbons";
	"pep_simple";
	"private"; "blocklist"; "vcard4"; "vcard_legacy";
	"version"; "uptime"; "time"; "ping";
	"register";
	"mam"; "csi";
	"admin_adhoc";
	"http_files";
	"server_contact_info";
	"proxy65";
	"cloud_notify";
	"smacks";
	"pep";
	"http_upload";
	"http";
	"bookmarks";
}

modules_disabled = {
	"s2s";
}

contact_info = {
	abuse = { "mailto:rey@koxha.de" };
	admin = { "xmpp:rey@skriva.me" };
};

legacy_ssl_ports = { 5223 }
legacy_ssl_ssl = {
	certificate = "/etc/prosody/certs/skriva.me.crt";
	key = "/etc/prosody/certs/skriva.me.key";
}

http_max_content_size = 10 * 1024 * 1024
http_upload_file_size_limit = 10 * 1024 * 1024
http_upload_expire_after = 60 * 60 * 24 * 7

allow_registration = true

c2s_require_encryption = true
s2s_require_encryption = true
s2s_secure_auth = true

pidfile = "/var/run/prosody/prosody.pid"

authentication = "internal_hashed"

storage = "sql"
sql = { driver = "MySQL", database = "XXXXXXX", username = "XXXXXXX", password = "XXXXXXX", host = "XXXXXXX" }

archive_expires_after = "1w"

log = {
	error = "/var/log/prosody/prosody.err";
}

certificates = "certs"
https_certificate = "/etc/prosody/certs/skriva.me.crt"

VirtualHost "skriva.me"
ssl = {
	certificate = "/etc/prosody/certs/skriva.me.crt";
	key = "/etc/prosody/certs/skriva.me.key";
	dhparam = "/etc/prosody/dhparam.pem";
	protocol = "tlsv1_1+";
}

Component "conference.skriva.me" "muc"
modules_enabled = { "vcard_muc", "muc_mam" }
restrict_room_creation = false
muc_tombstones = false
muc_tombstone_expiry = 86400 * 7

Component "proxy.skriva.me" "proxy65"

Component "p2.skriva.me"
	component_secret = "XXXXXXX"
	component_ports = { XXXX }

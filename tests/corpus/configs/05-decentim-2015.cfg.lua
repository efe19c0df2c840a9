-- re-creation of decent-im/decent.im:prosody.cfg.lua@fa7b6721ab7d4542986a1dda5eddc7ad294bcf09 (licence none stated); not a copy
-- A public server's first published config (late 2015): libevent on, stream
-- compression, the then-experimental "sql2" storage as the only storage,
-- MySQL password placeholder filled in by the deploy script, and a bare
-- "*syslog" sink in the log table.

admins = { "andrey.utkin@decent.im" }

use_libevent = true

modules_enabled = {
	"roster"; "saslauth"; "tls"; "dialback"; "disco";
	"private"; "vcard"; "blocklist"; "compression";
	"version"; "uptime"; "time"; "ping"; "pep";
	"register"; "admin_adhoc";
	"groups"; "watchregistrations";
	"mam"; "carbons";
}
default_archive_policy = true;

modules_disabled = {
}

allow_registration = false

c2s_require_encryption = true
s2s_secure_auth = false

pidfile = "/var/run/prosody/prosody.pid"

authentication = "internal_hashed"

storage = "sql2"
sql = { driver = "MySQL", database = "prosody", username = "prosody", password = "%%MYSQL_PROSODY_PASSWORD%%", host = "localhost" }

log = {
	"*syslog";
	debug = "/var/log/prosody/prosody.log";
	error = "/var/log/prosody/prosody.err";
}

VirtualHost "decent.im"
	enabled = true
	ssl = {
		certificate = "/var/lib/prosody/decent.im.crt";
		key = "/var/lib/prosody/decent.im.key";
	}

-- re-creation of dzavy/yuna-feed:system/yunapbx-appliance/image_files/etc/prosody/prosody.cfg.lua@4ec6d1596b598dafa3118d2e5e3775bd55aac0ff (licence none stated); not a copy
-- A PBX appliance image (OpenWrt feed, 2022) that uses Prosody only as a
-- local component hub: client and server listeners disabled through
-- modules_disabled, accounts in the appliance's MySQL over a socket path,
-- a custom group, an external component for Asterisk, no tls module.

admins = { "admin@localhost" }

interfaces = { "127.0.0.1" }

modules_enabled = {
	"roster"; "saslauth"; "dialback"; "disco";
	"private"; "vcard";
	"version"; "uptime"; "time"; "ping"; "pep";
	"adhoc";
	"posix";
	"bosh";
	"groups";
};

modules_disabled = {
	"s2s";
	"c2s";
};

allow_registration = false;

authentication = "internal_plain"

storage = "sql"
sql = { driver = "MySQL", database = "yunapbx", username = "root", password = "", host = "/var/run/mysql/mysqld.sock" }

log = { error = "*syslog" }

pidfile = "/var/run/prosody/prosody.pid"
prosody_user = "prosody"
prosody_group = "yunapbx"

consider_bosh_secure = true
http_default_host = "localhost"

VirtualHost "localhost"

Component "conference.localhost" "muc"

Component "asterisk.localhost"
	component_secret = "asterisk"

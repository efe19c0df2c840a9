-- re-creation of erikablair/prosody-install-debian-buster:prosody.cfg.lua@52b33a71815124e029ee5972337fb5be1e5661fe (licence MIT); not a copy
-- An install guide for Debian buster (2021, Prosody 0.11): example option
-- names left in from the template (_ and examlpe_ssl), many modules from
-- prosody-modules, watchregistrations listed twice, proxy65 loaded globally
-- and as a Component, turncredentials next to external_services, numbers
-- written as strings, and a Component whose name is a bare JID.

_ = { "like", "this", "one" }
examlpe_ssl = { key = "keyfile.key", certificate = "certificate.crt" }

admins = { "user@example.com" }

plugin_paths = { "/usr/local/lib/prosody/modules-enabled" }

modules_enabled = {
	"roster"; "saslauth"; "tls"; "dialback"; "disco";
	"extdisco";
	"iq";
	"carbons"; "pep"; "private"; "blocklist"; "vcard4"; "vcard_legacy";
	"version"; "uptime"; "time"; "ping";
	"register";
	"mam";
	"csi_simple"; "csi";
	"admin_adhoc"; "admin_telnet";
	"bosh"; "http_files";
	"pubsub"; "pubsub_feeds"; "pubsub_mqtt"; "pubsub_text_interface";
	"watchregistrations";
	"limits"; "groups"; "announce"; "welcome";
	"watchregistrations";
	"legacyauth";
	"proxy65";
	"smacks"; "cloud_notify"; "bookmarks";
	"http_upload"; "http_altconnect";
	"external_services";
	"turncredentials";
	"user_account_management";
}

http_files_dir = "/var/www"
mime_types_file = "/etc/mime.types"
http_files_cache_max_file_size = "4096"
http_upload_file_size_limit = "10000000"

http_ports = { 5280 }
http_interfaces = { "*", "::" }
https_ports = { 5281 }
https_interfaces = { "*", "::" }

consider_bosh_secure = true;
cross_domain_bosh = true;

welcome_message = "Hi $username, welcome to $host!"

limits = {
	c2s = { rate = "10kb/s"; };
	s2sin = { rate = "30kb/s"; };
}

-- the old module and its replacement, configured side by side
turncredentials_secret = "supersecretpassword"
turncredentials_host = "turn.example.com"
turncredentials_port = "3478"
turncredentials_ttl = "86400"

external_service_secret = "supersecretpassword";
external_services = {
	{ type = "stun", transport = "tcp", host = "example.com", port = 3478 },
	{ type = "turn", transport = "tcp", host = "example.com", port = 3478,
	  secret = true, ttl = 86400, algorithm = "turn" },
	{ type = "turns", transport = "tcp", host = "example.com", port = 5349,
	  secret = true, ttl = 86400, algorithm = "turn" },
};

modules_disabled = {
}

allow_registration = true
min_seconds_between_registrations = 21600

daemonize = false;
pidfile = "/run/prosody/prosody.pid";

c2s_require_encryption = true
s2s_require_encryption = true
s2s_secure_auth = false

authentication = "internal_hashed"

archive_expires_after = "1w"

log = {
	info = "prosody.log";
	error = "prosody.err";
}

certificates = "/etc/prosody/certs"

https_ssl = {
	certificate = "/etc/letsencrypt/live/example.com/fullchain.pem";
	key = "/etc/letsencrypt/live/example.com/privkey.pem";
}

VirtualHost "localhost"
ssl = {
	certificate = "/etc/letsencrypt/live/example.com/fullchain.pem";
	key = "/etc/letsencrypt/live/example.com/privkey.pem";
}

VirtualHost "example.com"
ssl = {
	certificate = "/etc/letsencrypt/live/example.com/fullchain.pem";
	key = "/etc/letsencrypt/live/example.com/privkey.pem";
}

Component "conference.example.com" "muc"
modules_enabled = { "muc_mam"; "vcard_muc"; "omemo_all_access"; }

Component "proxy.example.com" "proxy65"
	proxy65_address = "upload.example.com"
	proxy65_acl = "example.com"

Component "broadcast@example.com" "broadcast"

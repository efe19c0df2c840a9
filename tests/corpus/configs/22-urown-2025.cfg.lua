-- re-creation of alainwolf/roll.urown.net:server/config-files/etc/prosody/prosody.cfg.lua@70cc210d77c77c38d7069e8702b8620c2f425007 (licence CC-BY-SA-4.0); not a copy
-- A self-hosting handbook's sample (kept since the 0.9 era): Tor onion map
-- Included from a helper checkout (an absolute path in the original, relative
-- here), blocking with a privacy note, BOSH ports given as tables with paths,
-- and one assignment written without "=", which makes the file a call of an
-- undefined name.

interfaces = { "192.0.2.35", "2001:db8::35" }

admins = { "admin@example.net" }

plugin_paths = { "/usr/local/lib/prosody/modules" }

modules_enabled = {
	"roster"; "saslauth"; "tls"; "dialback"; "disco";
	"private"; "vcard";
	"version"; "uptime"; "time"; "ping"; "pep";
	"register";
	"admin_adhoc";
	"posix";
	"blocking";
	"smacks"; "carbons"; "mam"; "csi"; "throttle_presence";
	"register_web";
};

modules_disabled = {
};

register_web_template = "/usr/local/lib/prosody/register-templates/Prosody-Web-Registration-Theme";

allow_registration = false;
daemonize = true;
pidfile = "/var/run/prosody/prosody.pid";

Include "22-urown-2025.d/onions-map.lua"

ssl = {
	certificate = "/etc/ssl/certs/example.net.cert.pem";
	key = "/etc/ssl/certs/example.net.key.pem";
	dhparam = "/etc/ssl/dhparams/dh_4096.pem";
	ciphers = "kEDH+aRSA+AES128:kEECDH+aRSA+AES128:+SSLv3";
	options = { "no_sslv2", "no_sslv3", "no_ticket", "no_compression", "cipher_server_preference", "single_dh_use", "single_ecdh_use" };
}

c2s_require_encryption = true
s2s_secure_auth = false

authentication = "internal_plain"

proxy65_interfaces { "192.0.2.35", "2001:db8::35" }

bosh_ports = {
	{ port = 5280; path = "http-bind"; },
	{ port = 5281; path = "http-bind";
	  ssl = {
		certificate = "/etc/ssl/certs/example.net.chained.cert.pem";
		key = "/etc/ssl/private/example.net.key.pem";
	  }
	}
}

log = {
	info = "/var/log/prosody/prosody.log";
	error = "/var/log/prosody/prosody.err";
	{ levels = { "error" }; to = "syslog"; };
}

VirtualHost "example.net"
	enabled = false
	ssl = {
		certificate = "/etc/ssl/certs/example.net.chained.cert.pem";
		key = "/etc/ssl/private/example.net.key.pem";
	}

Include "22-urown-2025.d/conf.d/*.cfg.lua"

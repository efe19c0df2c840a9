-- re-creation of 25sal/gcadaptor:files/prosody.cfg.lua@13e26ff16d33a6ee4cdfd44eadeaee8bb8ff76bf (licence none stated); not a copy
-- A research project's static server file (2020) for a LAN testbed:
-- plaintext auth over unencrypted s2s allowed, mod_srvinjection and
-- mod_s2soutinjection from prosody-modules with their maps, and everything
-- after the VirtualHost line (ssl, the injection maps) lands in that host.
-- conf.d is Debian's as installed.

admins = { }

modules_enabled = {
	"roster"; "saslauth"; "tls"; "dialback"; "disco";
	"pep"; "vcard";
	"version"; "uptime"; "time"; "ping";
	"register";
	"admin_adhoc";
	"posix";
	"legacyauth";
	"srvinjection";
	"s2soutinjection";
}

modules_disabled = {
}

allow_registration = true;

daemonize = true;
pidfile = "/var/run/prosody/prosody.pid";

c2s_require_encryption = true;
allow_unencrypted_plain_auth = true
s2s_require_encryption = false
s2s_secure_auth = false
allow_anonymous_s2s = true

authentication = "internal_hashed"

archive_expires_after = "1w"

log = {
	info = "/var/log/prosody/prosody.log";
	error = "/var/log/prosody/prosody.err";
	{ levels = { "error" }; to = "syslog"; };
}

certificates = "certs"

VirtualHost "r7.local"
ssl = {
	certificate = "/etc/prosody/certs/localhost.crt";
	key = "/etc/prosody/certs/localhost.key";
}

-- route s2s for the LAN peer without DNS
srvinjection = {
	["raspberrypi.cossmic.lan"] = { "10.224.16.66", 5269 };
};
s2s_connect_overrides = {
	["raspberrypi.cossmic.lan"] = "10.224.16.66";
};

Include "16-gcadaptor-2020.d/*.cfg.lua"

-- re-creation of chicagolug/chicagolug-prosody:prosody.cfg.lua@a98dc3072d23c80f266306542d1aaa61e9f95915 (licence CC0-1.0); not a copy
-- A Debian 0.9-era deployment for a user group: daemonize/posix, a global
-- and a per-host ssl block, an sql block without storage = "sql", and
-- Debian's conf.avail/conf.d layout where conf.d holds a symlink.

admins = { "jim@chicagolug.org" }

modules_enabled = {
	"roster"; "saslauth"; "tls"; "dialback"; "disco";
	"private"; "vcard";
	"version"; "uptime"; "time"; "ping"; "pep";
	"register";
	"posix";
};

modules_disabled = {
};

allow_registration = true;

daemonize = true;
pidfile = "/var/run/prosody/prosody.pid";

ssl = {
	certificate = "/etc/prosody/certs/chicagolug.org.crt";
	key = "/etc/prosody/certs/chicagolug.org.key";
}

c2s_require_encryption = true
s2s_secure_auth = true

authentication = "internal_hashed"

-- storage is left at its default, so this block is never used
sql = { driver = "SQLite3", database = "prosody.sqlite" }

log = {
	{ levels = { "error" }; to = "syslog"; };
	error = "/var/log/prosody/prosody.err";
	info = "/var/log/prosody/prosody.log";
}

VirtualHost "chicagolug.org"
	enabled = true
	ssl = {
		certificate = "/etc/prosody/certs/chicagolug.org.crt";
		key = "/etc/prosody/certs/chicagolug.org.key";
	}

Include "03-chicagolug.d/conf.d/*.cfg.lua"

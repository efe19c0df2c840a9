-- re-creation of bigforcegun/main_cloud:roles/service_prosody/files/prosody.cfg.lua@5a234cd163a7244225f561c63619168c3b1127d3 (licence none stated); not a copy
-- The static file an Ansible role copies into a container (2021), derived
-- from a 0.9-era Debian file: compression with its level option, posix and
-- daemonize, SQLite storage, e2e_policy from prosody-modules, and the
-- cross_domain_bosh switch. conf.d is Debian's as installed.

admins = { "root@bigforcegun.com" }

modules_enabled = {
	"roster"; "saslauth"; "tls"; "dialback"; "disco";
	"private"; "vcard"; "compression";
	"version"; "uptime"; "time"; "ping"; "pep";
	"register";
	"admin_adhoc";
	"bosh";
	"posix";
	"e2e_policy"
};

modules_disabled = {
};

allow_registration = false;
daemonize = true;
pidfile = "/var/run/prosody/prosody.pid";

c2s_require_encryption = false
s2s_secure_auth = false

authentication = "internal_hashed"

storage = "sql"
sql = { driver = "SQLite3", database = "prosody.sqlite" }
sql_manage_tables = true

log = {
	info = "/var/log/prosody/prosody.log";
	error = "/var/log/prosody/prosody.error.log";
	{ levels = { "error" }; to = "syslog"; };
}

compression_level = 5
cross_domain_bosh = true

Include "17-bigforcegun-2021.d/*.cfg.lua"

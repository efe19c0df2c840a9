-- re-creation of getkaiwa/kaiwa-server:Docker/app/config/prosody.cfg.lua@854a239bb7747cbe5041765fe9d4eee29eec8cc0 (licence MIT); not a copy
-- A 2015 Docker image for the Kaiwa web client. The start script fills the
-- {{...}} placeholders with sed; here they stay as they are in the repository.
-- It still names the experimental "sql2" storage driver and the BOSH/websocket
-- cross-domain options of that time. The LDAP part lives in a second file that
-- is Included right after authentication is set (the original Includes it by
-- an absolute /etc/prosody path), and the host is written by the start script
-- into conf.d/domain.cfg.lua.

admins = { }

-- web clients on other origins
cross_domain_bosh = "*";
cross_domain_websocket = true;
consider_websocket_secure = true;

smacks_hibernation_time = 300;
default_archive_policy = true;
max_archive_query_results = 500;

modules_enabled = {
	"roster"; "saslauth"; "tls"; "dialback"; "disco";
	"private"; "vcard"; "compression";
	"version"; "uptime"; "time"; "ping"; "pep";
	"register";
	"admin_adhoc";
	"bosh"; "websocket";
	"groups";
	"carbons"; "smacks"; "idlecompat"; "mam";
	"offline";
};

modules_disabled = {
};

allow_registration = false;
daemonize = true;
pidfile = "/var/run/prosody/prosody.pid";

ssl = {
	certificate = "/etc/prosody/certs/localhost.crt";
	key = "/etc/prosody/certs/localhost.key";
}

c2s_require_encryption = true
s2s_secure_auth = false
s2s_insecure_domains = { "gmail.com" }

authentication = "ldap"
Include '04-kaiwa-2015.d/prosody-ldap.cfg.lua'

default_storage = "sql2"
sql = { driver = "PostgreSQL", database = "{{DB_NAME}}", username = "{{DB_USER}}", password = "{{DB_PWD}}", host = "{{DB_HOST}}" }

log = {
	debug = "/var/log/prosody/prosody.log";
	error = "/var/log/prosody/prosody.err";
	{ levels = { "error" }; to = "syslog"; };
}

Include "04-kaiwa-2015.d/conf.d/domain.cfg.lua"

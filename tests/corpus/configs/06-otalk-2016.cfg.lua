-- re-creation of aaronkvanmeerten/otalk-server:prosody.cfg.lua@fa4164c9d30ca4cc7aabfecbb06adde8833e7acc (licence none stated); not a copy
-- The otalk stack's server config (2013-2016): ADMIN@HOST / HOST placeholders
-- left unfilled, community modules copied into plugin_paths, archives in
-- "sql2", cross_domain_bosh, and component_ports written after the
-- VirtualHost line, so it lands in that host's section.

admins = { "ADMIN@HOST" }

daemonize = true
pidfile = "/var/run/prosody/prosody.pid"

plugin_paths = { "/opt/otalk-server" }

modules_enabled = {
	"roster"; "saslauth"; "tls"; "dialback"; "disco";
	"private"; "vcard"; "privacy"; "compression";
	"smacks"; "carbons"; "mam"; "lastactivity"; "offline";
	"pubsub";
	"version"; "uptime"; "time"; "ping"; "pep";
	"register";
	"adhoc"; "admin_adhoc";
	"posix";
	"bosh"; "websocket"; "http_altconnect";
	"turncredentials";
	"idlecompat";
};

allow_registration = false;

ssl = {
	certificate = "/path/to/cert";
	key = "/path/to/key";
}

c2s_require_encryption = true
s2s_secure_auth = true

cross_domain_bosh = true

authentication = "internal_hashed"

storage = { archive2 = "sql2" }
sql = { driver = "SQLite3", database = "prosody.sqlite" }

default_archive_policy = "roster"

log = {
	debug = "/var/log/prosody/prosody.log";
	error = "/var/log/prosody/prosody.err";
}

VirtualHost "HOST"

component_ports = { 5347 }

Component "muc.HOST" "muc"

-- re-creation of mohangk/chatyuk:configs/prosody.cfg.lua@fb7ff56938a9bf0d4a827c3b985eaf9752d15b05 (licence none stated); not a copy
-- A web chat widget's server (2015, Debian 0.9 base): the old global
-- "interfaces" option, BOSH with cross_domain_bosh, plaintext auth
-- globally and anonymous login on the public host, and a MUC.

admins = { }

modules_enabled = {
	"roster"; "saslauth"; "tls"; "dialback"; "disco";
	"posix";
	"private"; "vcard";
	"version"; "uptime"; "time"; "ping"; "pep";
	"register";
	"admin_adhoc";
	"bosh";
};

modules_disabled = {
};

interfaces = { "*" }

allow_registration = false;

ssl = {
	certificate = "/etc/prosody/certs/localhost.crt";
	key = "/etc/prosody/certs/localhost.key";
}

c2s_require_encryption = false;
s2s_secure_auth = false

pidfile = "/var/run/prosody/prosody.pid"

authentication = "internal_plain"

log = {
	"*syslog";
	info = "/var/log/prosody/prosody.log";
	error = "/var/log/prosody/prosody.err";
}

cross_domain_bosh = true

VirtualHost "localhost"

VirtualHost "chatyuk.com"
	enabled = true
	authentication = "anonymous"
	ssl = {
		certificate = "/etc/prosody/certs/example.com.crt";
		key = "/etc/prosody/certs/example.com.key";
	}

Component "conference.chatyuk.com" "muc"

-- re-creation of skyfya/yawls.de-XMPP:prosody.cfg.lua@5867372673fc128346385f16a24bcb14e0392473 (licence none stated); not a copy
-- A German public-server howto (2017): a long list of community modules
-- including privacy + blocking, http_upload as both a module and a
-- Component, proxy65 likewise, the registration_whitelist name, two typos in
-- option names, and Components indented under the VirtualHost.

admins = { "admin@domain.tld", "admin2@domain.tld" }

plugin_paths = { "/dein/pfad/zu/den/prosody-modulen" }

modules_enabled = {
	"roster"; "saslauth"; "tls"; "dialback"; "disco";
	"private"; "vcard"; "privacy";
	"version"; "uptime"; "time"; "ping"; "pep";
	"register"; "register_web";
	"announce";
	"blocking";
	"carbons";
	"webpresence";
	"admin_adhoc"; "admin_web";
	"bosh"; "http_files"; "http"; "http_upload";
	"lastlog";
	"posix";
	"watchregistrations"; "welcome";
	"log_auth";
	"mam";
	"legacyauth";
	"serverinfo"; "stanza_counter"; "server_status";
	"register_redirect";
	"smacks"; "csi"; "throttle_presence"; "filter_chatstates";
	"cloud_notify";
	"proxy65";
};

allow_registration = true;
daemonize = true;
pidfile = "/var/run/prosody/prosody.pid";

ssl = {
	certificate = "/etc/prosody/certs/fullchain.pem";
	key = "/etc/prosody/certs/privkey.pem";
}

c2s_require_encryption = true
s2s_require_encryption = true
s2s_secure_auth = true

authentication = "internal_hashed"

log = {
	info = "/var/log/prosody/prosody.log";
	error = "/var/log/prosody/prosody.err";
	{ levels = { "error" }; to = "syslog"; };
}

-- status pages from community modules
stanza_counter_basepath = "/counter/"
server_status_basepath = "/server-info/"
server_status_show_hosts = { "domain.tld" }
server_status_show_comps = { "conversation.domain.tld" }
server_status_json = true

-- web registration only
register_web_template = "/etc/prosody/template/Prosody-Web-Registration-Theme";
registration_whitelist = { "*your whitelisted web server ip address*" }
registrarion_url = "https://domain.tld/register"
registration_text = "Accounts are created through the web form at https://domain.tld/register"

http_default_host = "domain.tld"
http_paths = {
	register_web = "/register";
}

cross_domain_bosh = true;

proxy65_ports = { 5000 }
proxy65_interfaces = { "*", "::" }

disco_items = {
	{ "conversation.domain.tld", "Chatrooms" };
}

VirtualHost "domain.tld"
	enabled = true
	ssl = {
		certificate = "/etc/prosody/certs/fullchain.pem";
		key = "/etc/prosody/certs/privkey.pem";
		dhparam = "/etc/prosody/certs/domain.tld.dh-2048.pem";
		options = { "no_sslv2", "no_sslv3", "no_ticket", "no_compression" };
		ciphers = "HIGH:!DSS:!aNULL@STRENGTH!:!DES-CBC3-SHA:!ECDHE-RSA-DES-CBC3-SHA:!EDH-RSA-DES-CBC3-SHA";
	}
	allow_registration = true
	in_seconds_between_registrations = 86400
	http_host = "domain.tld"
	default_archive_policy = true;
	archive_expires_after = "1m";
	registration_watchers = { "watcher@domain.tld" }
	registration_notification = "User $username registered on $host from $ip"
	welcome_message = "Hello $username, welcome to the $host IM server!"

	Component "upload.domain.tld" "http_upload"
		http_upload_file_size_limit = 52428800
		http_upload_expire_after = 60 * 60 * 24 * 30

	Component "conversation.domain.tld" "muc"
		name = "Chatrooms"
		restrict_room_creation = false
		max_history_messages = 500

	Component "proxy.domain.tld" "proxy65"
		proxy65_address = "proxy.domain.tld"
		proxy65_acl = { "domain.tld", "user@domain.tld" }

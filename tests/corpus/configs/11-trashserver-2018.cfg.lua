-- re-creation of eseifert/prosody-config:prosody.cfg.lua@113c0af2bd9996ae6acb6efdb86f688c0e5b4f0a (licence MIT); not a copy
-- The published config of the public server trashserver.net (2018):
-- PostgreSQL for everything with both default_storage and storage set,
-- libevent, hardened TLS options, the legacy_ssl_* listener names, many
-- community modules, and Components indented under the VirtualHost.

pidfile = "/run/prosody/prosody.pid"

-- listen on loopback only, a proxy sits in front
interfaces = { "127.0.0.1", "::1" }
http_interfaces = { "127.0.0.1", "::1" }
legacy_ssl_interfaces = { "127.0.0.1", "::1" }
legacy_ssl_ports = { 5223 }

default_storage = "sql"
storage = "sql"
sql = {
	driver = "PostgreSQL";
	database = "prosody";
	host = "localhost";
	port = 5432;
	username = "prosody";
	password = "[passwd]";
}

authentication = "internal_hashed"

admins = { "admin@trashserver.net" }

c2s_require_encryption = true;
s2s_require_encryption = true;
s2s_secure_auth = true;
s2s_insecure_domains = {};

ssl = {
	certificate = "/etc/mytls/certmanager/certs/trashserver.net/fullchain.pem";
	key = "/etc/mytls/certmanager/privkey.pem";
	dhparam = "/etc/mytls/dh4096.pem";
	ciphers = "HIGH+kEDH:HIGH+kEECDH:HIGH:!PSK:!SRP:!3DES:!aNULL";
	options = { "no_sslv2", "no_sslv3", "no_tlsv1", "no_tlsv1_1", "no_ticket", "no_compression", "cipher_server_preference", "single_dh_use", "single_ecdh_use" };
}

use_libevent = true

plugin_paths = { "/opt/prosody-modules" }

modules_enabled = {
	"roster"; "saslauth"; "tls"; "dialback"; "disco";
	"private"; "vcard"; "offline";
	"admin_adhoc"; "admin_telnet";
	"http";
	"legacyauth";
	"version"; "uptime"; "time"; "ping";
	"register_web"; "register";
	"posix";
	"bosh";
	"announce";
	"proxy65";
	"pep";
	"smacks"; "smacks_offline";
	"carbons";
	"blocklist";
	"csi"; "csi_battery_saver";
	"mam";
	"lastlog"; "list_inactive";
	"cloud_notify";
	"compat_dialback";
	"throttle_presence";
	"log_auth";
	"omemo_all_access";
	"register_redirect";
	"http_upload_external";
	"server_contact_info";
	"websocket";
};

log = {
	error = "/var/log/prosody/error.log";
}

network_settings = {
	tcp_backlog = 64;
}

register_web_template = "/etc/prosody/register-template";

default_archive_policy = true;
archive_expires_after = "4w";

http_max_content_size = 52428800;
http_upload_file_size_limit = 52428800;
http_upload_path = "/var/lib/prosody/uploads";
http_upload_external_base_url = "https://uploads.trashserver.net/upload/"
http_upload_external_secret = "[secret]"
http_upload_external_file_size_limit = 50000000
http_default_host = "xmpp.trashserver.net"
http_paths = {
	register_web = "/register";
}

consider_websocket_secure = true;
consider_bosh_secure = true;
cross_domain_bosh = true;

no_registration_whitelist = true
registration_url = "https://trashserver.net/registrieren/"
registration_text = "Please register on the trashserver.net homepage."

smacks_enabled_s2s = true
smacks_hibernation_time = 3600
smacks_max_unacked_stanzas = 10
smacks_max_ack_delay = 60
smacks_max_hibernated_sessions = 10
smacks_max_old_sessions = 10

push_notification_important_body = "New Message"

disco_items = {
	{ "conference.trashserver.net", "The trashserver.net MUC" };
}

contact_info = {
	abuse = { "mailto:xmpp@trashserver.net", "xmpp:admin@trashserver.net" };
	admin = { "mailto:xmpp@trashserver.net", "xmpp:admin@trashserver.net" };
	feedback = { "mailto:xmpp@trashserver.net", "xmpp:admin@trashserver.net" };
	sales = { "mailto:xmpp@trashserver.net", "xmpp:admin@trashserver.net" };
	security = { "mailto:xmpp@trashserver.net", "xmpp:admin@trashserver.net" };
	support = { "mailto:xmpp@trashserver.net", "xmpp:admin@trashserver.net" };
};

VirtualHost "trashserver.net"
	allow_registration = false
	min_seconds_between_registrations = 60
	http_host = "xmpp.trashserver.net"

	Component "conference.trashserver.net" "muc"
		name = "trashserver.net Chatrooms"
		restrict_room_creation = false
		max_history_messages = 500
		modules_enabled = {
			"mam_muc",
			"vcard_muc",
		}
		muc_log_by_default = true

	Component "pubsub.trashserver.net" "pubsub"

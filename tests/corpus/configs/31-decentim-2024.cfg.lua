-- re-creation of decent-im/decent.im:files/etc/prosody/prosody.cfg.lua.template@475d86cced8655fc5526644801475191804a3587 (licence none stated); not a copy
-- The same public server nine years later (2024): a deploy-script template
-- rendered with DOMAIN_NAME = decent.example and its other $VARIABLES filled
-- with sample values. About sixty community modules, http_upload and
-- turncredentials still in use, proxy65 loaded globally and as a Component,
-- firewall scripts, direct TLS on 5223, and an IRC gateway component.

admins = { "admin@decent.example" }

plugin_paths = { "/usr/lib64/prosody/modules", "/usr/lib64/prosody/community-modules" };

modules_enabled = {
	"disco"; "roster"; "saslauth"; "tls";
	"blocklist"; "bookmarks"; "carbons"; "dialback"; "limits"; "pep"; "private";
	"smacks"; "vcard4"; "vcard_legacy"; "csi_simple";
	"ping"; "register"; "time"; "uptime"; "version";
	"mam";
	"admin_adhoc"; "admin_shell";
	"bosh"; "http_openmetrics"; "websocket";
	"announce"; "mimicking"; "proxy65"; "s2s_bidi"; "server_contact_info";
	"tombstones"; "watchregistrations"; "welcome";
	"http_upload"; "turncredentials";
	"csi"; "throttle_presence"; "filter_chatstates";
	"cloud_notify";
	"firewall"; "limit_auth"; "block_strangers"; "auto_moved";
	"spam_reporting"; "watch_spam_reports";
	"invites"; "invites_adhoc"; "invites_register"; "invites_tracking";
	"invites_page"; "invites_register_web";
	"conversejs";
	"compliance_2021";
	"http_health";
	"support_contact"; "admin_notify"; "admin_web";
	"checkcerts"; "strict_https";
	"support_room";
	"register_oob_url";
	"log_events";
}

modules_disabled = {
}

allow_registration = false
register_oob_url = "https://decent.im/register/"

ssl = {
	certificate = "/etc/prosody/certs/decent.example.crt";
	key = "/etc/prosody/certs/decent.example.key";
}

c2s_direct_tls_ports = { 5223 }

c2s_require_encryption = true
s2s_secure_auth = true

authentication = "internal_hashed"

storage = "sql"
sql = { driver = "PostgreSQL", database = "xmpp", username = "xmpp", password = "db-password", host = "localhost" }

log = {
	info = "/var/log/prosody/prosody.log";
	error = { "/var/log/prosody/prosody.err", "*syslog" };
}

pidfile = "/var/run/prosody/prosody.pid"
prosody_user = "prosody"
prosody_group = "prosody"

default_archive_policy = true
archive_expires_after = "never"
muc_log_by_default = true
max_archive_query_results = 20
max_history_messages = 1000

turncredentials_host = "203.0.113.7"
turncredentials_secret = "turn-secret"

contact_info = {
	abuse = { "mailto:admin@decent.example", "xmpp:admin@decent.example" };
	admin = { "mailto:admin@decent.example", "xmpp:admin@decent.example" };
	feedback = { "mailto:admin@decent.example", "xmpp:admin@decent.example" };
	sales = { "mailto:admin@decent.example", "xmpp:admin@decent.example" };
	security = { "mailto:admin@decent.example", "xmpp:admin@decent.example" };
	support = { "mailto:admin@decent.example", "xmpp:admin@decent.example", "xmpp:support@chat.decent.example?join" };
}

support_contact = { "admin@decent.example" }
support_contact_nick = "Admin"

-- the template keeps the production host names here
disco_items = {
	{ "proxy.decent.im", "SOCKS5 proxy service" };
	{ "chat.decent.im", "Chatrooms" };
}

firewall_scripts = {
	"module:scripts/spam-blocking.pfw";
	"module:scripts/spam-blocklists.pfw";
	"module:scripts/spam-strip-xhtml.pfw";
	"/etc/decent.im/custom-firewall-rules.pfw";
}

limit_auth_period = 3600
limit_auth_max = 1
limit_auth_tarpit_delay = 100

http_upload_quota = 2 * (1024 * 1024 * 1024)

support_room = "support@decent.example"
support_room_inviter = "admin@decent.example"
support_room_reason = "New users are invited to the support room"

VirtualHost "decent.example"
	enabled = true

Component "chat.decent.example" "muc"
	restrict_room_creation = "local"
	modules_enabled = {
		"muc_mam";
		"vcard_muc";
		"muc_local_only";
	}
	muc_local_only = { "support@decent.example" }

Component "proxy.decent.example" "proxy65"

Component "pubsub.decent.example" "pubsub"

Component "irc.decent.example"
	component_secret = "transport-secret"

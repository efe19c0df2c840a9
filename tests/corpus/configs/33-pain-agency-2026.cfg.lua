-- re-creation of jjj333-p/configs:prosody.cfg.lua@7f4e10c069eb9edb75c81ecc12c5391ee40e85d7 (licence none stated); not a copy
-- A public server's dotfiles (2026, Prosody 13 era, derived from ari.lt's):
-- invite-only registration with a web page listing client apps (a nested
-- table of tables), many community modules, the obsolete
-- muc_log_cleanup_interval, a pastebin MUC module, and a redacted external
-- component secret.

admins = { "jjj333@pain.agency" }

modules_enabled = {
	"disco"; "roster"; "saslauth"; "tls";
	"blocklist"; "bookmarks"; "carbons"; "dialback"; "limits"; "pep";
	"private"; "smacks"; "vcard4"; "vcard_legacy"; "csi_simple";
	"ping"; "register"; "time"; "uptime"; "version";
	"mam"; "turn_external";
	"admin_adhoc"; "admin_shell";
	"bosh"; "websocket"; "http_libjs";
	"announce"; "mimicking"; "s2s_bidi"; "server_contact_info";
	"tombstones"; "watchregistrations"; "welcome";
	"cloud_notify"; "cloud_notify_extensions";
	"http_altconnect"; "lastactivity"; "privilege";
	"invites"; "invites_adhoc"; "invites_register"; "invites_register_web";
	"invites_page"; "invites_api"; "register_apps";
	"ping_muc"; "track_muc_joins"; "s2s_keepalive";
	"throttle_unsolicited"
}

modules_disabled = {
}

unsolicited_messages_per_minute = 100
unsolicited_s2s_messages_per_minute = 100

s2s_secure_auth = true
c2s_require_encryption = true
s2s_require_encryption = true

plugin_server = "https://modules.prosody.im/rocks/"

limits = {
	c2s = { rate = "10mb/s"; };
	s2sin = { rate = "5mb/s"; };
}

pidfile = "/var/run/prosody/prosody.pid"

authentication = "internal_hashed"

archive_expires_after = "4w"

log = {
	info = "/var/log/prosody/prosody.log";
	error = "/var/log/prosody/prosody.err";
}

certificates = "certs"

user_tombstone_expire = 60 * 86400
smacks_hibernation_time = 86400
expose_publisher = true

c2s_ports = { 5222 }
s2s_ports = { 5269 }
c2s_direct_tls_ports = { 5223 }
s2s_direct_tls_ports = { 5270 }
http_ports = { 5280 }

consider_websocket_secure = true

pep_max_items = 10000

contact_info = {
	admin = { "xmpp:jjj333@pain.agency" },
	support = { "xmpp:jjj333@pain.agency" },
	abuse = { "xmpp:jjj333@pain.agency" }
}

trusted_proxies = { "127.0.0.1", "::1" }

block_registrations_users = { "pain.agency", "admin", "administrator", "root", "xmpp", "postmaster", "webmaster", "hostmaster" }

VirtualHost "pain.agency"
http_host = "xmpp-registration.pain.agency"
allow_registration = true
registration_invite_only = true
invite_expiry = 86400 * 7
site_name = "pain.agency"
http_external_url = "https://xmpp-registration.pain.agency/"
site_apps = {
	{
		name = "Gajim";
		text = [[Desktop client for Windows and Linux.]];
		image = "https://gajim.org/img/gajim-logo.png";
		link = "https://gajim.org/";
		platforms = { "Windows", "Linux" };
		download = {
			buttons = {
				{ text = "Download"; url = "https://gajim.org/download/"; target = "_blank"; };
			};
		};
	};
}

Component "group.pain.agency" "muc"
name = "Rooms / Groups (MUC)"
http_external_url = "https://group.pain.agency/"
restrict_room_creation = "local"
component_admins_as_room_owners = true
muc_tombstones = true
muc_tombstone_expiry = 60 * 86400
max_history_messages = 20
muc_room_default_history_length = 10
modules_enabled = { "muc_mam", "muc_moderation", "muc_offline_delivery", "muc_limits", "pastebin" }
muc_log_by_default = true
muc_log_presences = true
log_all_rooms = false
muc_event_rate = 1
muc_burst_factor = 10
muc_max_line_count = 50
muc_max_nick_length = 100
muc_log_expires_after = "1w"
muc_log_cleanup_interval = 4 * 60 * 60
pastebin_line_threshold = 10
pastebin_trigger = "!paste"
pastebin_expire_after = 2 * 7 * 24

Component "downloadable.pain.agency" "http_file_share"
name = "Hypertext (HTTP file share)"
http_file_share_size_limit = 512 * 1024 * 1024
http_file_share_daily_quota = 512 * 1024 * 1024
http_file_share_global_quota = 5 * 1024 * 1024 * 1024
http_file_share_expires_after = 28 * 86400
http_external_url = "https://downloadable.pain.agency/"

Component "beacon.pain.agency" "pubsub"
name = "Beacon (publish-subscribe)"
pubsub_max_items = 10000
expose_publisher = true

Component "relay.pain.agency" "proxy65"
name = "Relayer (SOCKS5 bytestreams)"

Component "koishi.pain.agency"
	component_secret = "[REDACTED]"

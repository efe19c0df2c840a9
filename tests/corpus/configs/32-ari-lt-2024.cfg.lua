-- re-creation of ari-lt/xmpp:prosody.cfg.lua@37cee593d8e1857b19e5eeaa7d2719524d59d503 (licence MIT); not a copy
-- A personal public server (2024) on the 0.12 sample: every listener port
-- spelled out, with direct TLS on 5223 under both its new name and the
-- legacy_ssl name, the obsolete muc_log_cleanup_interval, and Component
-- options written flush-left under each Component line.

admins = { "ari@ari.lt" }

modules_enabled = {
	"disco"; "roster"; "saslauth"; "tls";
	"blocklist"; "bookmarks"; "carbons"; "dialback"; "limits"; "pep";
	"private"; "smacks"; "vcard4"; "vcard_legacy"; "csi_simple";
	"invites"; "invites_adhoc"; "invites_register";
	"ping"; "register"; "time"; "uptime"; "version";
	"mam"; "turn_external";
	"admin_adhoc"; "admin_shell";
	"bosh"; "websocket";
	"announce"; "groups"; "mimicking"; "s2s_bidi"; "server_contact_info";
	"tombstones"; "watchregistrations"; "welcome";
	"cloud_notify"; "cloud_notify_extensions";
	"http_altconnect"; "lastactivity"; "privilege";
	"block_registrations"
}

modules_disabled = {
}

s2s_secure_auth = true
c2s_require_encryption = true
s2s_require_encryption = true

smacks_hibernation_time = 86400

plugin_server = "https://modules.prosody.im/rocks/"

limits = {
	c2s = { rate = "10mb/s"; };
	s2sin = { rate = "5mb/s"; };
}

pidfile = "/var/run/prosody/prosody.pid"

authentication = "internal_hashed"

allow_registration = true
registration_invite_only = true
user_tombstone_expire = 60 * 86400

archive_expires_after = "4w"

turn_external_host = "turn.ari.lt"
turn_external_secret = "..."

log = {
	error = "/var/log/prosody/prosody.err";
}

certificates = "certs"

c2s_ports = { 5222 }
s2s_ports = { 5269 }
c2s_direct_tls_ports = { 5223 }
s2s_direct_tls_ports = { 5270 }
http_ports = { 5280 }
legacy_ssl_ports = { 5223 }

pep_max_items = 10000

contact_info = {
	admin = { "https://ari.lt/#links", "mailto:ari@ari.lt", "xmpp:ari@ari.lt" };
	support = { "https://ari.lt/#links", "mailto:ari@ari.lt", "xmpp:ari@ari.lt" };
	abuse = { "https://ari.lt/#links", "mailto:ari@ari.lt", "xmpp:ari@ari.lt" };
}

block_registrations_users = { }

groups_file = "/etc/prosody/groups.ini"

trusted_proxies = { "127.0.0.1" }
consider_bosh_secure = true
consider_websocket_secure = true

expose_publisher = true

VirtualHost "ari.lt"

Component "muc.ari.lt" "muc"
name = "Rooms (MUC)"
restrict_room_creation = "local"
component_admins_as_room_owners = true
muc_tombstones = true
muc_tombstone_expiry = 60 * 86400
max_history_messages = 1
muc_room_default_history_length = 1
modules_enabled = { "muc_mam", "vcard_muc", "muc_moderation", "muc_offline_delivery" }
muc_log_by_default = true
muc_log_presences = false
log_all_rooms = true
muc_log_expires_after = "4w"
muc_log_cleanup_interval = 4 * 60 * 60

Component "ht.ari.lt" "http_file_share"
name = "Hypertext (HTTP file share)"
http_file_share_size_limit = 100 * 1024 * 1024
http_file_share_global_quota = 200 * 1024 * 1024 * 1024
http_file_share_expires_after = 28 * 86400
http_external_url = "https://ht.ari.lt/"

Component "ps.ari.lt" "pubsub"
name = "Beacon (publish-subscribe)"
pubsub_max_items = 10000
expose_publisher = true

Component "relay.ari.lt" "proxy65"
name = "Relayer (SOCKS5 bytestreams)"

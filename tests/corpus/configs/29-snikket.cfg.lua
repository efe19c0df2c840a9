-- re-creation of snikket-im/snikket-server:ansible/files/prosody.cfg.lua@bd30dc0dbfd6c8d854be3b45d5d9c1db8ee4f7d1 (licence Apache-2.0); not a copy
-- Snikket's server config (2026): everything keyed off SNIKKET_* variables
-- read as ENV_*, standard library reached through Lua.* (assert, tonumber,
-- require, print, os.exit, prosody), secrets read with FileLine, the
-- ":append" list syntax under hosts, a MUC and an http_file_share
-- Component named after the domain, and an ENV_-driven final Include.
-- The secret files and the extra-config glob live under /snikket/prosody in
-- the image; here they are relative to this file, in 29-snikket.d.

local function words(s)
	local out = {};
	for w in (s or ""):gmatch("[^%s,]+") do
		out[#out + 1] = w;
	end
	return out;
end

local DOMAIN = Lua.assert(ENV_SNIKKET_DOMAIN, "SNIKKET_DOMAIN must be set")

local RETENTION_DAYS = Lua.tonumber(ENV_SNIKKET_RETENTION_DAYS) or 7;
local UPLOAD_STORAGE_GB = Lua.tonumber(ENV_SNIKKET_UPLOAD_STORAGE_GB);
local DAILY_UPLOAD_LIMIT_PER_USER_GB = Lua.tonumber(ENV_SNIKKET_DAILY_UPLOAD_LIMIT_PER_USER_GB);

-- only when the server itself starts: wait for the certificate to appear
if Lua.prosody.process_type == "prosody" and not Lua.prosody.config_loaded then
	local lfs, socket = Lua.require "lfs", Lua.require "socket";
	local cert = "/etc/prosody/certs/" .. DOMAIN .. ".crt";
	local tries = 0;
	while not lfs.attributes(cert, "mode") do
		tries = tries + 1;
		if tries > 60 then
			Lua.print("no certificate, giving up");
			Lua.os.exit(1);
		end
		socket.sleep(5);
	end
	Lua._G.ltn12 = Lua.require "ltn12";
end

network_backend = "epoll"
plugin_paths = { "/etc/prosody/modules" }
data_path = "/snikket/prosody"
pidfile = "/var/run/prosody/prosody.pid"

admin_shell_prompt = ("prosody [%s]> "):format(DOMAIN)

modules_enabled = {
	-- core
	"roster"; "saslauth"; "tls"; "disco";
	"carbons"; "pep"; "blocklist"; "vcard4"; "vcard_legacy"; "password_policy";
	"uptime"; "time"; "ping"; "register"; "mam"; "csi_simple";
	-- SASL2 and FAST
	"sasl2"; "sasl2_bind2"; "sasl2_sm"; "sasl2_fast"; "client_management";
	-- auditing
	"audit"; "audit_auth"; "audit_status"; "audit_user_accounts";
	-- push
	"cloud_notify"; "cloud_notify_extensions"; "push2";
	-- HTTP
	"bosh"; "websocket"; "http_host_status_check"; "http_xep227";
	-- misc
	"limits"; "watchregistrations"; "proxy65"; "smacks"; "email";
	"http_altconnect"; "bookmarks"; "update_check"; "update_notify";
	"admin_shell"; "snikket_client_id"; "snikket_ios_preserve_push";
	"snikket_restricted_users"; "admin_blocklist"; "snikket_server_vcard";
	"snikket_version"; "account_activity"; "migrate_lastlog2";
	"protect_last_admin"; "c2s_limit_sessions";
	-- abuse handling
	"spam_reporting"; "watch_spam_reports"; "server_contact_info";
	"http_files";
	-- invitations
	"invites"; "invites_adhoc"; "invites_api"; "invites_groups";
	"invites_register"; "invites_register_api"; "invites_tracking";
	"invites_default_group"; "invites_bootstrap";
	"firewall";
	-- circles
	"groups_internal"; "groups_migration"; "groups_muc_bookmarks";
	-- web portal
	"http_oauth2"; "http_admin_api"; "rest";
	-- monitoring
	"measure_process"; "measure_active_users"; "measure_lua"; "measure_malloc";
}

max_resources = Lua.tonumber(ENV_SNIKKET_MAX_USER_CLIENTS) or 10

registration_watchers = {}
registration_notification = "New user registered: $username"

contact_info = {
	abuse = ENV_SNIKKET_ABUSE_EMAIL and { "mailto:" .. ENV_SNIKKET_ABUSE_EMAIL } or nil;
	security = ENV_SNIKKET_SECURITY_EMAIL and { "mailto:" .. ENV_SNIKKET_SECURITY_EMAIL } or nil;
}

http_ports = { ENV_SNIKKET_TWEAK_INTERNAL_HTTP_PORT or 5280 }
http_interfaces = words(ENV_SNIKKET_TWEAK_INTERNAL_HTTP_INTERFACE or "127.0.0.1,::1")
http_max_content_size = 1024 * 1024
https_ports = {};
c2s_direct_tls_ports = { 5223 }
tls_profile = ENV_SNIKKET_TLS_PROFILE or "modern"
proxy65_ports = { ENV_SNIKKET_PROXY65_PORT or 5000 }

allow_registration = true
registration_invite_only = true
password_policy = { length = 10; }

enforce_client_ids = ENV_SNIKKET_TWEAK_REQUIRE_SASL2 == "1"
allow_contact_invites = false
deny_user_invites_by_roles = { "prosody:restricted" }
custom_roles = { { name = "prosody:restricted"; priority = 15 } }

invites_page = ENV_SNIKKET_INVITE_URL or ("https://" .. DOMAIN .. "/invite/{invite.token}/");
invites_page_supports = { "account", "contact", "account-and-contact", "password-reset" }
invites_bootstrap_index = Lua.tonumber(ENV_TWEAK_SNIKKET_BOOTSTRAP_INDEX)
invites_bootstrap_secret = ENV_TWEAK_SNIKKET_BOOTSTRAP_SECRET
invites_bootstrap_ttl = Lua.tonumber(ENV_TWEAK_SNIKKET_BOOTSTRAP_TTL or (28 * 86400))

groups_muc_host = "groups." .. DOMAIN

allowed_oauth2_grant_types = { "password" }
allowed_oauth2_response_types = {}
oauth2_access_token_ttl = 86400
oauth2_registration_key = FileLine("29-snikket.d/oauth2-registration-secret")

c2s_require_encryption = true
s2s_require_encryption = true
s2s_secure_auth = true

add_permissions = {
	["prosody:registered"] = { "xmpp:federate"; };
}

archive_expires_after = ("%dd"):format(RETENTION_DAYS)
send_legacy_offline_messages_to_mam_clients = true
registration_delete_grace_period = ("%d days"):format(RETENTION_DAYS)

use_ipv6 = (ENV_SNIKKET_TWEAK_IPV6 ~= "0")

log = {
	[ENV_SNIKKET_LOGLEVEL or "info"] = "*stdout"
}

authentication = "internal_hashed"
authorization = "internal"
disable_sasl_mechanisms = { "PLAIN", "OAUTHBEARER" }

if ENV_SNIKKET_TWEAK_STORAGE == "sqlite" then
	storage = "sql"
	sql = { driver = "SQLite3"; database = "/snikket/prosody/prosody.sqlite"; }
else
	storage = "internal"
end

statistics = "internal"
if ENV_SNIKKET_TWEAK_PROMETHEUS == "1" then
	statistics_interval = "manual"
else
	statistics_interval = 60
end

if ENV_SNIKKET_TWEAK_DNSSEC == "1" then
	local trustfile = "/usr/share/dns/root.ds";
	Lua.assert(Lua.require"lunbound".new{ resolvconf = true; trustfile = trustfile }:resolve ".".secure,
		"resolver does not validate DNSSEC");
	unbound = { trustfile = trustfile }
	use_dane = true
end

certificates = "certs"

group_default_name = ENV_SNIKKET_SITE_NAME or DOMAIN
site_name = ENV_SNIKKET_SITE_NAME or DOMAIN
site_logo = "/usr/local/share/snikket/logo.png"

software_name = "Snikket"
update_notify_version_url = "https://snikket.org/updates/{branch}/{version}"
update_notify_support_url = "https://snikket.org/notices/{branch}/"
update_notify_message_url = "https://snikket.org/notices/{branch}/{message}"
if ENV_SNIKKET_UPDATE_CHECK ~= "0" then
	update_check_dns = "_{branch}.update.snikket.net"
	update_check_interval = 21613
end

http_default_host = DOMAIN
http_host = DOMAIN
http_external_url = "https://" .. DOMAIN .. "/"

if ENV_SNIKKET_TWEAK_TURNSERVER ~= "0" or ENV_SNIKKET_TWEAK_TURNSERVER_DOMAIN then
	modules_enabled: append {
		"turn_external";
	}
	turn_external_host = ENV_SNIKKET_TWEAK_TURNSERVER_DOMAIN or DOMAIN
	turn_external_port = ENV_SNIKKET_TWEAK_TURNSERVER_PORT
	turn_external_secret = ENV_SNIKKET_TWEAK_TURNSERVER_SECRET or FileLine("29-snikket.d/turn-auth-secret-v2")
	turn_external_tcp = true
end

isolate_except_domains = { "push.snikket.net", "push-ios.snikket.net" }

VirtualHost (DOMAIN)
	authentication = "internal_hashed"
	contact_uri = "https://" .. DOMAIN .. "/"

	modules_enabled = {}
	firewall_scripts = {}

	http_files_dir = "/var/www"
	http_paths = {
		files = "/";
		landing_page = "/";
		invites_page = "/invite";
		invites_register = "/register";
	}

	if ENV_SNIKKET_TWEAK_PROMETHEUS == "1" then
		modules_enabled: append { "http_openmetrics"; }
	end
	if ENV_SNIKKET_TWEAK_S2S_STATUS == "1" then
		modules_enabled: append { "s2s_status"; }
	end
	if ENV_SNIKKET_TWEAK_SHARE_PROXY == "1" then
		modules_enabled: append { "http_connect"; }
		http_proxy_secret = ENV_SNIKKET_TWEAK_TURNSERVER_SECRET or FileLine("29-snikket.d/turn-auth-secret-v2")
	end
	if ENV_SNIKKET_TWEAK_RESTRICTED_USERS_V2 == "1" then
		firewall_scripts: append { "/etc/prosody/firewall/restricted_users.pfw"; }
	else
		modules_enabled: append { "restrict_federation"; }
	end

Component ("groups." .. DOMAIN) "muc"
	modules_enabled = {
		"muc_mam"; "muc_moderation"; "muc_local_only"; "muc_defaults";
		"muc_offline_delivery"; "snikket_restricted_users";
		"snikket_deprecate_general_muc"; "muc_auto_reserve_nicks";
	}
	if ENV_SNIKKET_TWEAK_S2S_STATUS == "1" then
		modules_enabled: append { "s2s_status"; }
	end
	if ENV_SNIKKET_TWEAK_GC3 == "1" then
		muc_enable_experimental_gc3 = true;
	end
	restrict_room_creation = "local"
	muc_local_only = { "general@groups." .. DOMAIN }
	muc_room_default_allow_member_invites = true
	muc_room_default_persistent = true
	muc_room_default_public = false
	muc_offline_delivery_default = true
	muc_registration_include_form = true

Component ("share." .. DOMAIN) "http_file_share"
	if ENV_SNIKKET_TWEAK_SHARE_DOMAIN ~= "1" then
		http_host = "share." .. DOMAIN
		http_external_url = "https://share." .. DOMAIN .. "/"
	end
	-- 100 MiB plus room for an AES-GCM tag
	http_file_share_size_limit = (1024 * 1024 * 100) + 16
	http_file_share_expires_after = 60 * 60 * 24 * RETENTION_DAYS
	if DAILY_UPLOAD_LIMIT_PER_USER_GB then
		http_file_share_daily_quota = 1024 * 1024 * 1024 * DAILY_UPLOAD_LIMIT_PER_USER_GB
	end
	if UPLOAD_STORAGE_GB then
		http_file_share_global_quota = 1024 * 1024 * 1024 * UPLOAD_STORAGE_GB
	end
	http_paths = {
		file_share = "/upload"
	}
	modules_disabled = {
		"s2s";
	}

Include (ENV_SNIKKET_TWEAK_EXTRA_CONFIG or "/snikket/prosody/*.cfg.lua")

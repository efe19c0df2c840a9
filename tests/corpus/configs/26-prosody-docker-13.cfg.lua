-- re-creation of prosody/prosody-docker:configs/prosody-13.0.cfg.lua@4425fae9390b43e00f6f04895d46f851466fb019 (licence none stated); not a copy
-- The official image's config for Prosody 13: every setting from PROSODY_*
-- variables (lists split on commas with gmatch, ENV_X or "default"),
-- Lua.* for the standard library and Lua.require for pposix, the
-- modules_enabled:append syntax, hosts and components created in loops
-- from the environment, and a final Include whose path is itself an ENV_
-- fallback. One bare tonumber is left in the file-share branch.

local unpack = Lua.table.unpack;

local function split(str, sep)
	if not str then return nil; end
	local items = {};
	for item in str:gmatch("[^" .. (sep or ",") .. "]+") do
		items[#items + 1] = item;
	end
	return items;
end

plugin_paths = split(ENV_PROSODY_PLUGIN_PATHS or "/etc/prosody/modules")

admins = split(ENV_PROSODY_ADMINS)

modules_enabled = {
	"disco"; "roster"; "saslauth"; "tls";
	"blocklist"; "bookmarks"; "carbons"; "dialback"; "limits"; "pep"; "private";
	"smacks"; "vcard4"; "vcard_legacy";
	"csi_simple"; "invites"; "invites_adhoc"; "invites_register";
	"ping"; "register"; "time"; "uptime"; "version";
	"admin_adhoc"; "admin_shell";
}

if ENV_PROSODY_ENABLE_MODULES then
	modules_enabled:append(split(ENV_PROSODY_ENABLE_MODULES))
end

if ENV_PROSODY_TURN_SECRET then
	modules_enabled:append{ "turn_external" };
	turn_external_secret = ENV_PROSODY_TURN_SECRET
	turn_external_host = ENV_PROSODY_TURN_HOST
	turn_external_port = ENV_PROSODY_TURN_PORT
	turn_external_tls_port = ENV_PROSODY_TURN_TLS_PORT
end

if ENV_PROSODY_RETENTION_DAYS or ENV_PROSODY_ARCHIVE_EXPIRY_DAYS then
	modules_enabled:append{ "mam" }
end

modules_disabled = split(ENV_PROSODY_DISABLE_MODULES)

s2s_secure_auth = ENV_PROSODY_S2S_SECURE_AUTH ~= "0"

use_dane = ENV_PROSODY_USE_DANE and true or false
unbound = {
	trustfile = ENV_PROSODY_USE_DANE and "/usr/share/dns/root.ds";
	forward = split(ENV_PROSODY_DNS_RESOLVERS);
}

limits = {
	c2s = { rate = ENV_PROSODY_C2S_RATE_LIMIT or "10kb/s"; };
	s2sin = { rate = ENV_PROSODY_S2S_RATE_LIMIT or "30kb/s"; };
}

authentication = "internal_hashed"

storage = ENV_PROSODY_SQL_DRIVER and "sql" or ENV_PROSODY_STORAGE or "internal"
if ENV_PROSODY_SQL_DRIVER then
	sql = {
		driver = ENV_PROSODY_SQL_DRIVER;
		database = ENV_PROSODY_SQL_DB;
		username = ENV_PROSODY_SQL_USERNAME;
		password = ENV_PROSODY_SQL_PASSWORD;
		host = ENV_PROSODY_SQL_HOST;
	}
end

archive_expires_after = (ENV_PROSODY_ARCHIVE_EXPIRY_DAYS or ENV_PROSODY_RETENTION_DAYS or "7") .. "d"

log = {
	[ENV_PROSODY_LOGLEVEL or "info"] = "*console";
}

statistics = ENV_PROSODY_STATISTICS
statistics_interval = Lua.tonumber(ENV_PROSODY_STATISTICS_INTERVAL) or ENV_PROSODY_STATISTICS_INTERVAL

certificates = ENV_PROSODY_CERTIFICATES or "certs"

local pposix = Lua.require "prosody.util.pposix";
local vhosts = split(ENV_PROSODY_VIRTUAL_HOSTS) or { pposix.uname().nodename };

local net_host = ENV_PROSODY_NETWORK_HOSTNAME or #vhosts == 1 and vhosts[1];
if net_host then
	http_host = net_host
	proxy65_address = net_host
	if ENV_PROSODY_TURN_SECRET and not ENV_PROSODY_TURN_HOST then
		turn_external_host = net_host
	end
end

for _, name in Lua.ipairs(vhosts) do
	VirtualHost (name)
end

for _, def in Lua.ipairs(split(ENV_PROSODY_COMPONENTS) or {}) do
	local name, kind = unpack(split(def, ":"));
	Component (name) (kind)
	if kind == "muc" then
		modules_enabled = split(ENV_PROSODY_MUC_MODULES)
	elseif kind == "http_file_share" then
		http_file_share_expire_after = 60 * 60 * 24 * tonumber(ENV_PROSODY_UPLOAD_EXPIRY_DAYS or ENV_PROSODY_RETENTION_DAYS or "7")
		if ENV_PROSODY_UPLOAD_LIMIT_MB then
			http_file_share_size_limit = (1024 * 1024 * tonumber(ENV_PROSODY_UPLOAD_LIMIT_MB)) + 16
		end
		if ENV_PROSODY_UPLOAD_STORAGE_GB then
			http_file_share_global_quota = 1024 * 1024 * 1024 * tonumber(ENV_PROSODY_UPLOAD_STORAGE_GB)
		end
		http_paths = {
			file_share = "/share";
		}
	end
end

for _, def in Lua.ipairs(split(ENV_PROSODY_EXTERNAL_COMPONENTS) or {}) do
	local name, secret = unpack(split(def, ":"));
	Component (name)
		component_secret = secret or ENV_PROSODY_COMPONENT_SECRET
end

Include (ENV_PROSODY_EXTRA_CONFIG or "/etc/prosody/conf.d/*.cfg.lua")

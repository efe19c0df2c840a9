-- re-creation of prosody/prosody-docker:configs/prosody-0.11.cfg.lua@cbc0f60ab2b34c97a13ecbb48beece89e308c011 (licence none stated); not a copy
-- The official image's config for the 0.11 series (removed in 2025): every
-- setting from PROSODY_* variables, a gmatch-based split helper, plain
-- ipairs/require of that era, and the component loops that assign a
-- whole list to two names (the bug fixed later for 0.12/13 with unpack).

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

local default_modules = {
	"disco"; "roster"; "saslauth"; "tls";
	"blocklist"; "carbons"; "dialback"; "limits"; "pep"; "private";
	"vcard4"; "vcard_legacy";
	"csi_simple"; "ping"; "register"; "time"; "uptime"; "version";
	"admin_adhoc";
}

for _, name in ipairs(split(ENV_PROSODY_ENABLE_MODULES) or {}) do
	default_modules[#default_modules + 1] = name;
end
if ENV_PROSODY_RETENTION_DAYS or ENV_PROSODY_ARCHIVE_EXPIRY_DAYS then
	default_modules[#default_modules + 1] = "mam";
end
modules_enabled = default_modules

local disabled = {};
for _, name in ipairs(split(ENV_PROSODY_DISABLE_MODULES) or {}) do
	disabled[#disabled + 1] = name;
end
modules_disabled = disabled

s2s_secure_auth = ENV_PROSODY_S2S_SECURE_AUTH ~= "0"

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
	[ENV_PROSODY_LOGLEVEL or "info"] = "*stdout";
}

statistics = ENV_PROSODY_STATISTICS

certificates = ENV_PROSODY_CERTIFICATES or "certs"

local pposix = require "util.pposix";
local vhosts = split(ENV_PROSODY_VIRTUAL_HOSTS) or { pposix.uname().nodename };

local net_host = ENV_PROSODY_NETWORK_HOSTNAME or #vhosts == 1 and vhosts[1];
if net_host then
	http_host = net_host
	proxy65_address = net_host
end

for _, name in ipairs(vhosts) do
	VirtualHost (name)
end

for _, def in ipairs(split(ENV_PROSODY_COMPONENTS) or {}) do
	local name, kind = split(def, ":");
	Component (name) (kind)
	if kind == "muc" then
		modules_enabled = split(ENV_PROSODY_MUC_MODULES)
	end
end

for _, def in ipairs(split(ENV_PROSODY_EXTERNAL_COMPONENTS) or {}) do
	local name, secret = split(def, ":");
	Component (name)
		component_secret = secret or ENV_PROSODY_COMPONENT_SECRET
end

Include (ENV_PROSODY_EXTRA_CONFIG or "/etc/prosody/conf.d/*.cfg.lua")

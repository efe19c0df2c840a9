-- env: PROSODY_ADMINS=alice@example.org,bob@example.org PROSODY_LOGLEVEL=debug
-- ENV_X is the variable's value or nil, as in Prosody: `or` falls back, and a
-- helper can split it (the official image's config does this).
local function split(s, sep)
	if not s then return nil end
	sep = sep or ","
	local parts = {}
	for part in s:gmatch("[^" .. sep .. "]+") do
		parts[#parts + 1] = part
	end
	return parts
end
admins = split(ENV_PROSODY_ADMINS)
plugin_paths = split(ENV_PROSODY_PLUGIN_PATHS or "/etc/prosody/modules")
storage = ENV_PROSODY_SQL_DRIVER and "sql" or ENV_PROSODY_STORAGE or "internal"
s2s_secure_auth = ENV_PROSODY_S2S_SECURE_AUTH ~= "0"
archive_expires_after = (ENV_PROSODY_ARCHIVE_EXPIRY_DAYS or "7") .. "d"
log = { [ENV_PROSODY_LOGLEVEL or "info"] = "*console" }
statistics_interval = Lua.tonumber(ENV_PROSODY_STATISTICS_INTERVAL) or 60
if ENV_PROSODY_TURN_SECRET then
	turn_external_secret = ENV_PROSODY_TURN_SECRET
end
for _, vhost in Lua.ipairs(split(ENV_PROSODY_VIRTUAL_HOSTS) or { "example.org" }) do
	VirtualHost(vhost)
	ssl = { certificate = "certs/" .. vhost .. ".crt" }
end

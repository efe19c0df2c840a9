-- env: DOMAIN=Chat.Example.ORG
-- Pure Lua works, through Lua.* and (deprecated) directly.
local domain = (ENV_DOMAIN or "localhost"):lower()
local upload_mb = 10
http_file_share_size_limit = upload_mb * 1024 * 1024
http_file_share_expire_after = 60 * 60 * 24 * tonumber("7")
c2s_ports = { Lua.math.floor(5222.7) }
contact_info = { admin = { string.format("xmpp:admin@%s", domain) } }
local mods = { "roster", "saslauth" }
table.insert(mods, "tls")
Lua.table.insert(mods, "disco")
modules_enabled = mods
modules_enabled:append { "ping" }
server_name = string.rep("x", 3) .. Lua.string.upper("y")
VirtualHost(domain)
	-- reads the host's own options only: the global c2s_ports is not seen here
	http_file_share_size_limit = (http_file_share_size_limit or 1) * 2
	admins = { "admin@" .. domain }
Component("conference." .. domain) "muc"
	restrict_room_creation = true

-- re-creation of allthingslinux/xmpp.atl.chat:core/config/conf.d/05-network.cfg.lua@9ce902b624ee39da5712ff59ec4bf8b986a40955 (licence MIT); not a copy
c2s_ports = { 5222 }
c2s_direct_tls_ports = { 5223 }
s2s_ports = { 5269 }
s2s_direct_tls_ports = { 5270 }
component_ports = { 5347 }
http_ports = { 5280 }
https_ports = { 5281 }

interfaces = { "127.0.0.1" }
c2s_interfaces = { "*", "::" }
c2s_direct_tls_interfaces = { "*", "::" }
s2s_interfaces = { "*", "::" }
s2s_direct_tls_interfaces = { "*", "::" }
local_interfaces = { "127.0.0.1" }
external_addresses = {}
use_ipv6 = false

network_backend = "event"
network_settings = {
	read_timeout = 840,
}

proxy65_ports = { 5000 }
proxy65_interfaces = { "*", "::" }

local web_host = "xmpp.atl.chat"
local web_scheme = "https"
http_default_host = web_host
http_external_url = web_scheme .. "://" .. web_host .. "/"
http_interfaces = { "127.0.0.1" }
https_interfaces = { "*", "::" }
http_files_dir = "/usr/share/prosody/www"

trusted_proxies = { "127.0.0.1", "172.18.0.0/16", "10.0.0.0/8" }

http_cors_override = {
	bosh = { enabled = true },
	websocket = { enabled = true },
}

http_headers = {
	["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains; preload",
	["X-Frame-Options"] = "DENY",
	["X-Content-Type-Options"] = "nosniff",
	["Referrer-Policy"] = "strict-origin-when-cross-origin",
}

http_file_share_size_limit = 100 * 1024 * 1024
http_file_share_daily_quota = 1024 * 1024 * 1024
http_file_share_expire_after = 30 * 24 * 3600
http_file_share_path = "/var/lib/prosody/http_file_share"
http_file_share_global_quota = 10 * 1024 * 1024 * 1024

bosh_max_inactivity = 60
bosh_max_polling = 5
bosh_max_requests = 2
bosh_max_wait = 120
bosh_session_timeout = 300
bosh_hold_timeout = 60
bosh_window = 5

websocket_frame_buffer_limit = 2 * 1024 * 1024
websocket_frame_fragment_limit = 8
websocket_max_frame_size = 1024 * 1024

http_paths = {
	file_share = "/upload",
	files = "/",
	pastebin = "/paste",
	bosh = "/http-bind",
	websocket = "/xmpp-websocket",
	conversejs = "/conversejs",
}

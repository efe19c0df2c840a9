-- What pfe does not run gives unknown values; the rest of the file is read.
local pp = Lua.require "prosody.util.pposix"
local vhosts = { pp.uname().nodename }
http_host = vhosts[1]
local ok, lfs = Lua.pcall(require, "lfs")
data_path = Lua.prosody.paths.data
Lua.log("info", "reading the config")
local f = Lua.io.open("/etc/hostname")
motd_text = f and f:read("*l") or "welcome"
c2s_ports = { 5222 }
modules_enabled = { "roster", "saslauth", "tls", "disco", "ping" }
pidfile = "/run/prosody/prosody.pid"
VirtualHost "example.org"

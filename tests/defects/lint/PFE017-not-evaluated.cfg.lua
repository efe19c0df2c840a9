-- expect: PFE017
-- pfe does not run code with side effects: the value is unknown, the rest of
-- the file is still checked.
local pp = Lua.require "prosody.util.pposix"
modules_enabled = { "disco", "roster", "saslauth", "tls" }
http_host = pp.uname().nodename

VirtualHost "example.org"

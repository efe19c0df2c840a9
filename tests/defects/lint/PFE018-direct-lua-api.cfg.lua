-- expect: PFE018
modules_enabled = { "disco", "roster", "saslauth", "tls" }
c2s_timeout = tonumber("300")   -- Lua.tonumber

VirtualHost "example.org"

-- expect: PFE003
-- mod_http (a global module) reads http_cors_override from the global
-- section only: the global copy works, the VirtualHost's copy is ignored.
modules_enabled = { "disco", "roster", "saslauth", "tls", "bosh" }
http_cors_override = { bosh = { enabled = true } }

VirtualHost "example.org"
    http_cors_override = { bosh = { enabled = false } }

-- expect: PFE026
modules_enabled = { "disco", "roster", "saslauth", "tls", "component" }

VirtualHost "example.org"

-- expect: PFE008
modules_enabled = { "disco", "roster", "saslauth", "tls", "blocking" }

VirtualHost "example.org"

-- expect: PFE014
modules_enabled = { "disco", "roster", "saslauth", "tls" }

VirtualHost "example.org"
    c2s_require_encryption = = true

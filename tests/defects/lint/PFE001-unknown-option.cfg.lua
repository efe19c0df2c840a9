-- expect: PFE001
modules_enabled = { "disco", "roster", "saslauth", "tls" }
c2s_require_encrption = true -- typo: c2s_require_encryption

VirtualHost "example.org"

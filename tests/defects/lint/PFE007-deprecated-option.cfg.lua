-- expect: PFE007
modules_enabled = { "disco", "roster", "saslauth", "tls" }
legacy_ssl_ports = { 5223 }   -- now c2s_direct_tls_ports
require_encryption = true     -- now c2s_require_encryption and s2s_require_encryption

VirtualHost "example.org"

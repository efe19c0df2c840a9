-- expect: PFE025
modules_enabled = { "disco", "roster", "saslauth", "tls" }
c2s_ports = { 5222 }
s2s_ports = { 5222 }

VirtualHost "example.org"

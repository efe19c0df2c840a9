-- expect: PFE016
modules_enabled = { "disco", "roster", "saslauth", "tls", "bosh" }
c2s_ports = { 99999 }              -- above 65535
s2s_ports = true                   -- not a number at all
http_ports = { "abc" }             -- portmanager's tonumber gives nil
c2s_direct_tls_ports = { 5223 }    -- fine
https_ports = {}                   -- fine: an empty list switches the listener off

VirtualHost "example.org"

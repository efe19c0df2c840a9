-- expect: PFE004
modules_enabled = { "disco", "roster", "saslauth", "tls" }

VirtualHost "example.org"
    c2s_ports = { 5222 }            -- ports are process-wide
    log = { info = "*console" }     -- so is logging

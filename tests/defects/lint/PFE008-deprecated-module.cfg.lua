-- expect: PFE008
modules_enabled = {
    "disco", "roster", "saslauth", "tls";
    "posix";            -- deprecated: remove it
}

VirtualHost "example.org"

-- expect: PFE027
modules_enabled = { "disco", "roster", "saslauth", "tls" }
default_storage = "sql2"

VirtualHost "example.org"

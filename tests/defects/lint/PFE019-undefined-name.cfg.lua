-- expect: PFE019
modules_enabled = { "disco", "roster", "saslauth", "tls" }
admins = { ibrahim }   -- a missing pair of quotes: nil, so no admin

VirtualHost "example.org"

-- expect: PFE022
modules_enabled = { "disco", "roster", "saslauth", "tls" }

VirtualHost "example.org"

Component "conference.jabber..example.org" "muc"

-- expect: PFE021
modules_enabled = { "disco", "roster", "saslauth", "tls", "muc" }

VirtualHost "example.org"

Component "conference.example.org" "muc"

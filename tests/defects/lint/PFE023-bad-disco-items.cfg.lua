-- expect: PFE023
modules_enabled = { "disco", "roster", "saslauth", "tls" }
disco_items = { "proxy.example.org", { "upload.example.org", "Uploads" } }

VirtualHost "example.org"

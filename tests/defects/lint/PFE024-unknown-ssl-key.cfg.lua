-- expect: PFE024
modules_enabled = { "disco", "roster", "saslauth", "tls" }
ssl = { protocols = "tlsv1_2+" }   -- ssl.protocol: TLS versions are not restricted

VirtualHost "example.org"

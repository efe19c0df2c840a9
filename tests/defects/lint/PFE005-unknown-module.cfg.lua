-- expect: PFE005
modules_enabled = {
    "disco", "roster", "saslauth", "tls";
    "carbon";           -- typo: carbons
}

VirtualHost "example.org"

-- expect: PFE009
modules_enabled = {
    "disco", "roster", "saslauth", "tls";
    "vcard";
    "vcard_legacy";     -- replaces mod_vcard: never both
}

VirtualHost "example.org"

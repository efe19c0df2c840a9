-- expect: PFE006
-- mod_vcard_muc is still in upstream prosody-modules but deprecated: Prosody
-- 13's mod_muc has MUC vCards built in. Not "no longer exists".
modules_enabled = { "disco", "roster", "saslauth", "tls" }

VirtualHost "example.org"

Component "conference.example.org" "muc"
    modules_enabled = { "vcard_muc" }

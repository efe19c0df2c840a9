-- expect: PFE006
-- mod_http_upload is in prosody-modules, but Debian's package ships it empty.
modules_enabled = { "disco", "roster", "saslauth", "tls" }

VirtualHost "example.org"

Component "upload.example.org" "http_upload"

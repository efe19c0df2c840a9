-- expect: PFE003
-- mod_http_upload's option, but the upload service is mod_http_file_share.
modules_enabled = { "disco", "roster", "saslauth", "tls" }
http_upload_file_size_limit = 50 * 1024 * 1024

VirtualHost "example.org"

Component "upload.example.org" "http_file_share"

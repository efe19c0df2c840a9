-- expect:
-- A small, correct config: no finding at all.
admins = { "admin@example.org" }
modules_enabled = { "disco", "roster", "saslauth", "tls", "carbons", "mam", "ping" }
c2s_require_encryption = true
archive_expires_after = "1w"
default_archive_policy = "roster"
log = { info = "*console" }

VirtualHost "example.org"

Component "conference.example.org" "muc"
    restrict_room_creation = "local"

-- re-creation of joschi/docker-prosody-alpine:prosody.cfg.lua@9cc67491fd3df6e1e101d901371aa8dbb29b477d (licence MIT); not a copy
-- An Alpine-based image (0.10-era base, still published in 2025): runs in
-- the foreground, turns mod_posix off through modules_disabled although it
-- is not listed as enabled, a single "*console" sink, and an Include of
-- conf.d (Alpine's package ships a localhost host there).

daemonize = false
pidfile = "/var/run/prosody/prosody.pid"

admins = { }

plugin_paths = { "/usr/local/lib/prosody/modules/" }

modules_enabled = {
	"roster"; "saslauth"; "tls"; "dialback"; "disco";
	"carbons"; "pep"; "private"; "blocklist"; "vcard";
	"version"; "uptime"; "time"; "ping";
	"register";
	"admin_adhoc";
}

modules_disabled = {
	"posix";
}

allow_registration = false

c2s_require_encryption = false
s2s_require_encryption = false
s2s_secure_auth = false

authentication = "internal_hashed"

archive_expires_after = "1w"

log = {
	"*console";
}

certificates = "certs"

VirtualHost "localhost"

Include "28-alpine-docker-2025.d/*.cfg.lua"

-- re-creation of pattems/Jitsi-on-FreeBSD-12.1:prosody.cfg.lua@6856b2cd6b0ccf25fa50d5d2ea91aacd4f5c19ee (licence none stated); not a copy
-- A Jitsi-on-FreeBSD howto (2020): the reader is meant to replace
-- <jitsi.example.com> and <YOURSECRET*>; unreplaced, host names contain
-- angle brackets. A certificates path climbing out with ../, pidfile in /tmp.

admins = { "focus@auth.<jitsi.example.com>" }

pidfile = "/tmp/prosody.pid";

modules_enabled = {
	"roster"; "saslauth"; "tls"; "dialback"; "disco";
	"carbons"; "pep"; "private"; "blocklist"; "vcard4"; "vcard_legacy";
	"version"; "uptime"; "time"; "ping";
	"register";
	"mam";
	"admin_adhoc";
	"bosh";
	"pubsub";
}

modules_disabled = {}

allow_registration = false

c2s_require_encryption = true
s2s_require_encryption = true
s2s_secure_auth = false

authentication = "internal_hashed"

archive_expires_after = "1w"

log = {
	info = "prosody.log";
	error = "prosody.err";
}

certificates = "../../../../var/db/prosody/"

VirtualHost "localhost"

VirtualHost "<jitsi.example.com>"
	authentication = "anonymous"
	ssl = {
		certificate = "/var/db/prosody/<jitsi.example.com>.crt";
		key = "/var/db/prosody/<jitsi.example.com>.key";
	}
	c2s_require_encryption = false

VirtualHost "auth.<jitsi.example.com>"
	ssl = {
		certificate = "/var/db/prosody/<auth.jitsi.example.com>.crt";
		key = "/var/db/prosody/auth.<jitsi.example.com>.key";
	}
	authentication = "internal_plain"

Component "conference.<jitsi.example.com>" "muc"

Component "jitsi-videobridge.<jitsi.example.com>"
	component_secret = "<YOURSECRET1>"

Component "focus.<jitsi.example.com>"
	component_secret = "<YOURSECRET2>"

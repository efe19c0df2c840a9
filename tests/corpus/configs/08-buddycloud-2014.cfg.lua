-- re-creation of buddycloud/dockerfiles:buddycloud-stack/config/prosody.cfg.lua@b0eafac92e08bc32b457316867cf601400ca5c93 (licence Apache-2.0); not a copy
-- The buddycloud Docker stack (2014): no roster module, a log list of sink
-- tables, the old registration whitelist option names, anonymous_login on
-- each host, and four external components sharing one secret.

admins = { "your-username@buddycloud.dev" }

modules_enabled = {
	"saslauth"; "tls"; "dialback"; "disco";
	"time"; "ping";
	"posix";
	"register"; "watchregistrations";
	"compression";
};

storage = "internal"
pidfile = "/var/run/prosody/prosody.pid"

log = {
	{ levels = { min = "error" }, to = "file", filename = "/var/log/buddycloud/prosody/prosody.err" };
	{ levels = { min = "info" }, to = "file", filename = "/var/log/buddycloud/prosody/prosody.log" };
}

-- only the local web front end may register accounts
registration_whitelist = { "127.0.0.1" }
whitelist_registration_only = true

VirtualHost "buddycloud.dev"
	authentication = "internal_hashed"
	allow_registration = true
	anonymous_login = false
	ssl = {
		key = "/etc/certs/buddycloud.dev.key.pem";
		certificate = "/etc/certs/buddycloud.dev.cert.pem";
	}

VirtualHost "anon.buddycloud.dev"
	authentication = "anonymous"
	anonymous_login = true
	allow_anonymous_s2s = true

Component "buddycloud.buddycloud.dev"
	component_secret = "tellnoone"

Component "topics.buddycloud.dev"
	component_secret = "tellnoone"

Component "media.buddycloud.dev"
	component_secret = "tellnoone"

Component "pusher.buddycloud.dev"
	component_secret = "tellnoone"

-- re-creation of moyamo/transwhat-quickinstall:prosody.cfg.lua@1a0c25b2011842b0468a46bad2b6256d6a8205b6 (licence none stated); not a copy
-- A quick-install script's config for a WhatsApp transport (2015). The
-- {{{{...}}}} host names are the script's placeholders, left unfilled. The
-- listener options sit under the Component, and daemonize under the first
-- VirtualHost; there is no log option at all.

modules_enabled = {
	"roster"; "saslauth"; "tls"; "dialback"; "disco";
	"private"; "vcard"; "legacyauth";
	"version"; "uptime"; "time"; "ping";
	"register";
};

allow_registration = false;

Component "{{{{transwhathost}}}}"
	component_secret = "whatsappsucks"
	component_ports = { 5221 }
	component_interface = "127.0.0.1"

VirtualHost "localhost"
daemonize = false

VirtualHost "{{{{prosodyhost}}}}"

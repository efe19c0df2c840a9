-- re-creation of public/prol.etari.at-documentation:prosody.cfg.lua@99d478aee59761775c98dfc1efa1c12f0b6faede (licence none stated); not a copy
-- A small public server of the 0.8 era: libevent switched off explicitly,
-- privacy lists, stream compression and legacy auth still loaded.

admins = { "alexs@prol.etari.at" }

use_libevent = false;

modules_enabled = {
	-- core protocol
	"roster"; "saslauth"; "tls"; "dialback"; "disco";
	-- storage-backed features
	"private"; "vcard"; "privacy";
	"compression";
	"legacyauth";
	-- small informational modules
	"version"; "uptime"; "time"; "ping";
	"pep";
	"register";
	"adhoc";
	"admin_adhoc";
	"posix";
};

modules_disabled = {
};

allow_registration = false;

c2s_require_encryption = true
s2s_require_encryption = false

authentication = "internal_hashed"

log = {
	info = "/var/log/prosody/prosody.log";
	error = "/var/log/prosody/prosody.err";
}

pidfile = "/var/run/prosody/prosody.pid";

VirtualHost "prol.etari.at"
	ssl = {
		certificate = "/etc/ssl/prol.etari.at.chain.crt";
		key = "/etc/ssl/prol.etari.at.key";
	}

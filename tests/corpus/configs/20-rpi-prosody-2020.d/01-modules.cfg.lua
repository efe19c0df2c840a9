-- re-creation of shaula/rpi-prosody:conf.d/01-modules.cfg.lua@5e9e670b22950238df6f8f030b73c3244aeabb2b (licence none stated); not a copy
plugin_paths = { "/usr/local/lib/prosody/custom-modules/" };

modules_enabled = {
	"roster"; "saslauth"; "tls"; "dialback"; "disco";
	"blocklist"; "private"; "vcard4"; "vcard_legacy";
	"mam"; "carbons"; "csi_simple";
	"version"; "uptime"; "time"; "ping"; "pep";
	"register";
	"admin_adhoc";
	"posix";
};

modules_disabled = {
};

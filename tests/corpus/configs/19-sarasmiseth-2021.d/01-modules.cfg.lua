-- re-creation of SaraSmiseth/prosody:conf.d/01-modules.cfg.lua@4bbcdb80e9dc3d290f9c1883b554b2f8c98a0a21 (licence none stated); not a copy
plugin_paths = { "/usr/local/lib/prosody/custom-modules/" };

modules_enabled = {
	"roster"; "saslauth"; "tls"; "dialback"; "disco";
	"blocklist"; "private"; "vcard4"; "vcard_legacy";
	"mam"; "carbons"; "csi_simple";
	"version"; "uptime"; "time"; "ping"; "pep";
	"register";
	"admin_adhoc";
	"posix";
	"announce";
	"lastactivity";
	"server_contact_info";
};

modules_disabled = {
};

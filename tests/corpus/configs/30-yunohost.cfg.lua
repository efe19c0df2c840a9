-- re-creation of debian:prosody:/etc/prosody/prosody.cfg.lua@13.0.1-1~bpo12+1 (licence MIT); not a copy
-- YunoHost's prosody app keeps Debian's packaged main file and drops two
-- files into conf.d (here 30-yunohost.d): 00.cfg.lua with a global tweak and
-- one file per domain rendered from domain.tpl.cfg.lua. So this main file is
-- Debian's default, and the .d files re-create the app's templates.
admins = { }

plugin_paths = { "/usr/local/lib/prosody/modules" }

modules_enabled = {
	-- needed by almost every deployment
	"disco"; "roster"; "saslauth"; "tls";
	-- recommended
	"blocklist"; "bookmarks"; "carbons"; "dialback"; "limits"; "pep";
	"private"; "smacks"; "vcard4"; "vcard_legacy";
	-- nice to have
	"account_activity"; "cloud_notify"; "csi_simple";
	"invites"; "invites_adhoc"; "invites_register";
	"ping"; "register"; "time"; "uptime"; "version";
	-- administration
	"admin_adhoc"; "admin_shell";
	-- Debian addition
	"posix";
}

modules_disabled = {
}

pidfile = "/run/prosody/prosody.pid";

s2s_secure_auth = true

limits = {
	c2s = { rate = "10kb/s"; };
	s2sin = { rate = "30kb/s"; };
}

authentication = "internal_hashed"

archive_expires_after = "1w"

log = {
	info = "/var/log/prosody/prosody.log";
	error = "/var/log/prosody/prosody.err";
	{ levels = { "error" }; to = "syslog"; };
}

certificates = "certs"

VirtualHost "localhost"

Include "30-yunohost.d/*.cfg.lua"

-- re-creation of debian:prosody:/etc/prosody/prosody.cfg.lua@13.0.1-1~bpo12+1 (licence MIT); not a copy
-- The jitsi-meet-prosody Debian package installs its host file into
-- conf.avail/conf.d of Debian's Prosody; this main file is Debian's default
-- and 38-jitsi-meet.d holds the package's example host file.
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

Include "38-jitsi-meet.d/*.cfg.lua"

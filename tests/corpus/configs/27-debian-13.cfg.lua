-- re-creation of debian:prosody:/etc/prosody/prosody.cfg.lua@13.0.1-1~bpo12+1 (licence MIT); not a copy
-- Debian's packaged default for Prosody 13 (bookworm-backports): the
-- upstream 13 sample plus Debian's plugin path, mod_posix, a pidfile under
-- /run, file and syslog logging, a localhost host, and the
-- conf.avail/conf.d layout pulled in with a wildcard Include after that
-- host (conf.d holds a symlink to conf.avail's localhost file).

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

Include "27-debian-13.d/conf.d/*.cfg.lua"

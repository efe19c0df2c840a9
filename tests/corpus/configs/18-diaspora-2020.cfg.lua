-- re-creation of ecky-l/diaspora-up-and-running:roles/prosody/files/prosody.cfg.lua@1818e49e5ec92545f86a090e4942ccf5de658a17 (licence BSD-3-Clause); not a copy
-- An Ansible role's static main file (2020, 0.10-era dist base) for
-- chatting inside a diaspora* pod; the role templates the pod's host into
-- conf.d (rendered in the .d file with diaspora.example).

admins = { }

plugin_paths = {
	"/usr/local/lib64/prosody/modules"
}

modules_enabled = {
	"roster"; "saslauth"; "tls"; "dialback"; "disco";
	"carbons"; "pep"; "private"; "blocklist"; "vcard";
	"version"; "uptime"; "time"; "ping";
	"register";
	"admin_adhoc";
}

modules_disabled = {
}

allow_registration = false

c2s_require_encryption = true
s2s_require_encryption = true
s2s_secure_auth = false

authentication = "internal_hashed"

archive_expires_after = "1w"

log = {
	info = "/var/log/prosody/prosody.log";
	error = "/var/log/prosody/prosody.err";
}

certificates = "/etc/pki/prosody/"

pidfile = "/run/prosody/prosody.pid";

Include "18-diaspora-2020.d/*.cfg.lua"

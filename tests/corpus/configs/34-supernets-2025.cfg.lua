-- re-creation of supernets/prosody:prosody.cfg.lua@b24a6ca7dea03774187fffdfb7c2e184367aa545 (licence none stated); not a copy
-- A community's server (2025): no global modules_enabled at all, the host
-- lists core and autoloaded modules itself (including posix and offline),
-- disco_items given as a plain list of strings, the old
-- "blacklist_on_..." option name, and a MUC Component whose own
-- modules_enabled names muc, s2s, tls, dialback again.

admins = { "acidvegas@xmpp.supernets.org" }

plugin_paths = { "/usr/local/lib/prosody/modules" }

pidfile = "/run/prosody/prosody.pid";

limits = {
	c2s = { rate = "3kb/s"; burst = "2s"; };
	s2sin = { rate = "10kb/s"; burst = "5s"; };
}

log = {
	"*syslog";
}

VirtualHost "xmpp.supernets.org"
	modules_enabled = {
		"admin_adhoc"; "announce"; "blocklist"; "carbons"; "cloud_notify";
		"csi_simple"; "disco"; "limits"; "mam"; "offline"; "pep"; "ping";
		"posix"; "private"; "register";
		"register_limits",
		"roster"; "saslauth"; "smacks"; "tls"; "vcard";
		"user_account_management";
		"watchregistrations";
		"omemo_all_access";
	}
	allow_registration = true
	authentication = "internal_hashed"
	blacklist_on_registration_throttle_overload = true
	c2s_require_encryption = true
	min_seconds_between_registrations = 86400
	registration_throttle_cache_size = 100
	s2s_require_encryption = true
	disco_items = { "muc.supernets.org" }
	ssl = {
		certificate = "/etc/prosody/certs/xmpp.supernets.org/fullchain.pem";
		key = "/etc/prosody/certs/xmpp.supernets.org/privkey.pem";
	}

Component "muc.supernets.org" "muc"
	name = "SuperNETs XMPP Chatrooms"
	modules_enabled = {
		"dialback"; "disco"; "muc"; "muc_mam"; "ping"; "s2s"; "tls"; "vcard";
	}
	ssl = {
		certificate = "/etc/prosody/certs/xmpp.supernets.org/fullchain.pem";
		key = "/etc/prosody/certs/xmpp.supernets.org/privkey.pem";
	}

-- re-creation of ecky-l/diaspora-up-and-running:roles/prosody/templates/diasp.cfg.lua.j2@1818e49e5ec92545f86a090e4942ccf5de658a17 (licence BSD-3-Clause); not a copy
-- Rendered with diaspora_hostname = diaspora.example and the role's
-- certificate variables. The host loads core modules that Prosody loads by
-- itself anyway (presence, c2s, s2s, offline, roster...), plus
-- http_upload, proxy65 and blocking, and authenticates against the pod's
-- database through the role's own mod_auth_diaspora.
VirtualHost "diaspora.example"
	http_host = "diaspora.example"
	modules_enabled = {
		"cloud_notify"; "smacks"; "smacks_offline"; "pinger";
		"diaspora_contacts";
		"presence"; "offline"; "roster"; "saslauth"; "c2s"; "s2s";
		"pep"; "version"; "uptime"; "time"; "ping";
		"http_upload";
		"csi";
		"proxy65";
		"blocking";
		"carbons"
	}
	authentication = "diaspora"
	auth_diaspora = {
		driver = "PostgreSQL";
		database = "diaspora_production";
		username = "diaspora";
		password = "diaspora";
		host = "127.0.0.1";
		port = 5432;
	}
	ssl = {
		certificate = "/etc/pki/prosody/diaspora.example.crt";
		key = "/etc/pki/prosody/diaspora.example.key";
	};
	c2s_require_encryption = true;
	s2s_require_encryption = true;
	s2s_secure_auth = true;
	http_upload_allowed_file_types = { "image/*", "text/plain" };
	http_upload_file_size_limit = 100000;

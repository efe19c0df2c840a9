-- re-creation of ilkkaya/Prosody-Best-Configs:prosody.cfg.lua@68e43bc34756751a0661471ac2a8ca74086cda37 (licence none stated); not a copy
-- A "best configs" sample (2018) based on the 0.10 dist file: the admin is
-- written as a bare name instead of a string, a host without a dot, a
-- curve/ciphers/options ssl block, and tls_policy after the last VirtualHost
-- (so it only applies to that host).

admins = { ibrahim }

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
s2s_secure_auth = true

pidfile = "/var/run/prosody/prosody.pid"

authentication = "internal_hashed"

archive_expires_after = "1w"

log = {
	info = "/var/log/prosody/prosody.log";
	error = "/var/log/prosody/prosody.err";
}

certificates = "/etc/prosody/certs"

VirtualHost "localhost"
	ssl = {
		certificate = "certs/localhost.crt";
		key = "certs/localhost.key";
	}

VirtualHost "serverdomain"
	ssl = {
		certificate = "/etc/prosody/certs/serverdomain.crt";
		key = "/etc/prosody/certs/serverdomain.key";
		dhparam = "/etc/prosody/certs/dh-4096.pem";
		options = { "no_sslv2", "no_sslv3" };
		curve = "secp521r1";
		ciphers = "EECDH+ECDSA+AESGCM:EECDH+aRSA+AESGCM:EECDH+ECDSA+SHA512:ECDH+AESGCM:DH+AESGCM:RSA+AESGCM:!aNULL:!eNULL:!LOW:!RC4:!3DES:!MD5:!EXP:!PSK:!SRP:!DSS";
	}

tls_policy = {
	s2s = {
		cipher = "AESGCM";
		protocol = "TLSv1.[12]";
		authentication = "RSA";
	};
}

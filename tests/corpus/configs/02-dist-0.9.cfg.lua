-- re-creation of bjc/prosody:prosody.cfg.lua.dist@a6f6a0568fa43f0f4b5ed820f22cdf97deafd63b (licence MIT); not a copy
-- The sample configuration shipped with the 0.9.0 release: plaintext
-- password storage, a global ssl block with relative certificate paths,
-- no encryption required, and a disabled example host.

admins = { }

modules_enabled = {
	"roster"; "saslauth"; "tls"; "dialback"; "disco";
	"private"; "vcard";
	"version"; "uptime"; "time"; "ping"; "pep";
	"register";
	"admin_adhoc";
};

modules_disabled = {
};

allow_registration = false;

ssl = {
	certificate = "certs/localhost.crt";
	key = "certs/localhost.key";
}

c2s_require_encryption = false
s2s_secure_auth = false

authentication = "internal_plain"

log = {
	error = "prosody.err";
	info = "prosody.log";
}

VirtualHost "localhost"

VirtualHost "example.com"
	enabled = false
	ssl = {
		certificate = "certs/example.com.crt";
		key = "certs/example.com.key";
	}

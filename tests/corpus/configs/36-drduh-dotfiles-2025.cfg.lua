-- re-creation of drduh/config:prosody.cfg.lua@9887996fa114d5a81c2ab5891e1b7a866458ef2e (licence MIT); not a copy
-- A widely copied security dotfiles repository (file from 2016-2019, still
-- published in 2025): a minimal module set with posix and daemonize, debug
-- logging to file, and a hardened ssl block under the host whose TLS
-- version key is spelled "protocols" (LuaSec's key is "protocol") and whose
-- verify depth is a string.

modules_enabled = {
	"roster"; "saslauth"; "tls";
	"private";
	"posix";
	"dialback";
}

log = {
	debug = "/var/log/prosody/prosody.log";
	error = "/var/log/prosody/prosody.err";
}

admins = { "admin@example.com" }
allow_registration = false
authentication = "internal_hashed"
daemonize = true
c2s_require_encryption = true
s2s_require_encryption = true
s2s_secure_auth = false
pidfile = "/var/run/prosody/prosody.pid"

VirtualHost "example.com"
ssl = {
	certificate = "/etc/pki/xmpp-cert.pem";
	key = "/etc/pki/xmpp-key.pem";
	dhparam = "/etc/pki/dh.pem";
	depth = "1";
	protocols = "tlsv1_2";
	ciphers = "EECDH+ECDSA+AESGCM:EECDH+aRSA+AESGCM:EECDH+ECDSA+SHA384:EECDH+ECDSA+SHA256:EECDH+aRSA+SHA384:EECDH+aRSA+SHA256:!LOW:!3DES:!MD5:!EXP:!PSK:!SRP:!DSS:!RC4";
}

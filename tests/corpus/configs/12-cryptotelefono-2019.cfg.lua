-- re-creation of HackM3nt3/prosody.cfg.lua:prosody.cfg.lua@63c62d873d8894b3c7db4687e10585cb377bf67d (licence none stated); not a copy
-- A small server also reachable as a Tor onion (2019): privacy and blocking
-- listed with csi, limit_auth and mod_onions from prosody-modules, an
-- onion map, the global interfaces option, and an ssl block with
-- dhparam/options under the second VirtualHost.

admins = { "leo@cryptotelefono.online" }

interfaces = { "127.0.0.1", "46.101.175.246" }

modules_enabled = {
	"roster"; "saslauth"; "tls"; "dialback"; "disco";
	"posix";
	"private"; "vcard"; "privacy";
	"version"; "uptime"; "time"; "ping"; "pep";
	"announce"; "welcome"; "watchregistrations"; "motd";
	"smacks"; "csi"; "throttle_presence"; "filter_chatstates";
	"mam";
	"onions";
	"carbons";
	"blocking";
	"limit_auth";
	"default_bookmarks";
};

allow_registration = false;
c2s_require_encryption = true;
s2s_secure_auth = false;

pidfile = "/var/run/prosody/prosody.pid"

authentication = "internal_hashed"

log = {
	error = "/var/log/prosody/prosody.err";
}

-- send all s2s through Tor, using known onion addresses of other servers
onions_tor_all = true
onions_only = false
onions_map = {
	["jabber.calyxinstitute.org"] = "ijeeynrc6x2uy5ob.onion";
	["riseup.net"] = "4cjw6cwpeaeppfqz.onion";
	["jabber.systemli.org"] = "x5tno6mwkncu5m3h.onion";
	["jabber.ccc.de"] = "okj7xc6j2szr2y75.onion";
	["autistici.org"] = "wi7qkxyrdpu5cmvr.onion";
	["inventati.org"] = "wi7qkxyrdpu5cmvr.onion";
}

archive_expires_after = "1w"

limit_auth_period = 30
limit_auth_max = 5

VirtualHost "amrmt5yiyeqb4iw7.onion"

VirtualHost "cryptotelefono.online"
	ssl = {
		certificate = "/etc/prosody/certs/cryptotelefono.online/fullchain.pem";
		key = "/etc/prosody/certs/cryptotelefono.online/privkey.pem";
		dhparam = "/etc/nginx/dh-4096.pem";
		options = { "no_sslv2", "no_sslv3", "no_tlsv1", "no_ticket", "no_compression", "cipher_server_preference", "single_dh_use", "single_ecdh_use" }
	}

-- re-creation of jitsi/docker-jitsi-meet:prosody/rootfs/defaults/prosody.cfg.lua@467a149cbb3102374b7664af7549780f5c0d2494 (licence Apache-2.0); not a copy
-- docker-jitsi-meet's first prosody image (2018): a 0.10-era base file that
-- Includes conf.d, where the Jitsi hosts are written with ${VAR} names that
-- an envsubst-style step was meant to replace. Unreplaced, they are just
-- string literals, so the host names contain "$", "{" and "}".

admins = { }

modules_enabled = {
	"roster"; "saslauth"; "tls"; "dialback"; "disco";
	"private"; "vcard";
	"version"; "uptime"; "time"; "ping"; "pep";
	"register";
	"admin_adhoc";
	"posix";
};

modules_disabled = {
};

allow_registration = false;

daemonize = false;
pidfile = "/config/data/prosody.pid";

c2s_require_encryption = false
s2s_secure_auth = false

authentication = "internal_plain"

log = {
	{ levels = { min = "info" }, to = "console" };
}

component_interface = { "*" }

data_path = "/config/data"

Include "10-jitsi-docker-2018.d/*.cfg.lua"

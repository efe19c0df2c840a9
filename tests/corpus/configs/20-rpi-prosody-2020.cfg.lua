-- re-creation of shaula/rpi-prosody:prosody.cfg.lua@5e9e670b22950238df6f8f030b73c3244aeabb2b (licence none stated); not a copy
-- A Raspberry Pi image (2020) whose host names come from plain os.getenv in
-- an Included file; global settings in the main file, modules, storage, an
-- e2e policy and the hosts in four conf.d files.

admins = {};

use_libevent = true;

allow_registration = true;

c2s_require_encryption = true;
s2s_secure_auth = true;

authentication = "internal_hashed";

daemonize = false;

log = {
	{ levels = { min = "info" }, to = "console" };
};

Include "20-rpi-prosody-2020.d/*.cfg.lua";

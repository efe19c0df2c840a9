-- re-creation of SaraSmiseth/prosody:prosody.cfg.lua@4bbcdb80e9dc3d290f9c1883b554b2f8c98a0a21 (licence none stated); not a copy
-- A popular Docker image (2021) configured entirely from the environment
-- through plain os.getenv and a LuaRocks helper loaded with plain require
-- (the image installs lua-stringy; Debian's Prosody does not have it). The
-- settings live in five files Included from conf.d.

local stringy = require "stringy"

admins = stringy.split(os.getenv("PROSODY_ADMINS"), ", ");

pidfile = "/var/run/prosody/prosody.pid"

use_libevent = true;

-- these arrive as strings ("true"/"false") straight from the environment
allow_registration = os.getenv("ALLOW_REGISTRATION");
c2s_require_encryption = os.getenv("C2S_REQUIRE_ENCRYPTION");
s2s_require_encryption = os.getenv("S2S_REQUIRE_ENCRYPTION");
s2s_secure_auth = os.getenv("S2S_SECURE_AUTH");

authentication = "internal_hashed";

log = {
	{ levels = { min = os.getenv("LOG_LEVEL") }, to = "console" };
};

Include "19-sarasmiseth-2021.d/*.cfg.lua";

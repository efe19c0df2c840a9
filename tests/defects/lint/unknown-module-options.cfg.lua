-- expect: PFE001 PFE005
-- A module pfe does not know (a module of one's own, or a community module
-- newer than the index) is "unknown to pfe" (PFE005). It may read any option,
-- so options only it could read are not reported; a near miss of a known
-- option still is (PFE001), with a note naming the unknown module.
modules_enabled = { "disco", "roster", "saslauth", "tls", "zqx_local_helper" }
zqx_local_helper_limit = 5
frobnication_level = "high"
c2s_require_encrption = true

VirtualHost "example.org"

-- features/authentication/basic.cfg.lua — RFC 6120 SASL login over TLS.
--
-- The password database is chosen in core/security.cfg.lua
-- (authentication = "internal_hashed": salted SCRAM-SHA-1 hashes, PLAIN only
-- over TLS). authentication/external swaps it for LDAP.
--
-- Seed -> real options (the seed's authentication/modern block):
--   * sasl_enabled_mechanisms { "SCRAM-SHA-256-PLUS", ... } does not exist.
--     Prosody offers every mechanism the auth backend supports minus
--     disable_sasl_mechanisms (default { "DIGEST-MD5" }); internal_hashed
--     offers SCRAM-SHA-1(-PLUS) and PLAIN. SCRAM-SHA-256 needs
--     password_hash = "SHA-256" *before* the first account exists (existing
--     SHA-1 hashes stop working), so the catalog leaves it to local.cfg.lua.
--   * authentication_policy.require_channel_binding
--       -> PROSODY_REQUIRE_CHANNEL_BINDING=true: disable every mechanism
--          without channel binding (disable_sasl_mechanisms), read by
--          mod_saslauth and mod_sasl2 alike.
-- tls_server_end_point_hash = "auto" lets mod_saslauth offer the
-- tls-server-end-point channel binding derived from the certificate, so
-- SCRAM-*-PLUS works on TLS 1.3 even where tls-exporter is unavailable.

feature_info = {
    name = "Basic Authentication",
    description = "SASL authentication (SCRAM-SHA-1 with channel binding, PLAIN only over TLS) with advertised channel-binding types (XEP-0440)",
    xeps = { "XEP-0440" },
    stability = "stable",
    dependencies = {},
    conflicts = {},
    modules = { "saslauth" },
    toggles = {},
    checks = {
        { xep = "XEP-0440", where = "stream_pre_auth", var = "urn:xmpp:sasl-cb:0", module = "saslauth" },
    },
}

modules_enabled = modules_enabled or {}
modules_enabled:append { "saslauth" }

tls_server_end_point_hash = "auto"

local cb = (os.getenv("PROSODY_REQUIRE_CHANNEL_BINDING") or "false"):lower()
if cb == "true" then
    disable_sasl_mechanisms = {
        "DIGEST-MD5", "PLAIN", "LOGIN", "SCRAM-SHA-1", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER",
    }
elseif cb ~= "false" then
    error(("PROSODY_REQUIRE_CHANNEL_BINDING must be 'true' or 'false', got %q"):format(cb))
end

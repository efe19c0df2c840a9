-- core/security.cfg.lua — authentication backend and the TLS/encryption baseline.
--
-- Seed -> real options:
--   * sasl2_require_encryption / authentication_policy.require_encryption
--       -> c2s_require_encryption (read by mod_tls, mod_saslauth, mod_sasl2)
--   * authentication_policy.allow_unencrypted_plain = false
--       -> allow_unencrypted_plain_auth = false (mod_saslauth, mod_sasl2)
--   * "PLAIN -- only over TLS" in sasl_enabled_mechanisms
--       -> insecure_sasl_mechanisms keeps its default { "PLAIN", "LOGIN" }
-- s2s_secure_auth (certificate-verified federation) is switched on by the
-- production and staging environments; development/testing use self-signed certs.

local env = pfe.env -- nil when unset or empty

authentication = "internal_hashed"

c2s_require_encryption = true
s2s_require_encryption = true
allow_unencrypted_plain_auth = false
tls_profile = "intermediate"

-- mod_tls is the base of every profile. mod_limits (per-connection bandwidth
-- limits; Prosody's defaults are c2s 10kb/s, s2sin 30kb/s) is on unless
-- PROSODY_RESOURCE_LIMITS=false; production/staging tighten the limits.
local resource_limits = (env("PROSODY_RESOURCE_LIMITS") or "true"):lower()
if resource_limits ~= "true" and resource_limits ~= "false" then
    error(("PROSODY_RESOURCE_LIMITS must be 'true' or 'false', got %q"):format(resource_limits))
end

if resource_limits == "true" then
    modules_enabled = { "tls", "limits" }
    limits = {
        c2s = { rate = "10kb/s", burst = "2s" },
        s2sin = { rate = "30kb/s", burst = "2s" },
    }
else
    modules_enabled = { "tls" }
end

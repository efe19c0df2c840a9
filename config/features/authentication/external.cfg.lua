-- features/authentication/external.cfg.lua — authenticate users against LDAP
-- (Prosody's own mod_auth_ldap with lua-ldap).
--
-- Users and passwords live in the directory: Prosody binds as the user
-- (ldap_mode = "bind") so it never sees a password hash. Consequences:
--   * only PLAIN can be offered (over TLS), so PROSODY_REQUIRE_CHANNEL_BINDING
--     cannot be combined with this feature (error below);
--   * Prosody cannot create accounts in LDAP, so registration/open and
--     registration/invites conflict with this feature;
--   * FAST tokens (authentication/modern) still work: they are Prosody's own.
-- Settings: PROSODY_LDAP_SERVER and PROSODY_LDAP_BASE are required;
-- PROSODY_LDAP_ROOTDN (+ the secret Credential("ldap_password")) for a
-- non-anonymous search, PROSODY_LDAP_FILTER, PROSODY_LDAP_SCOPE, PROSODY_LDAP_TLS.

feature_info = {
    name = "External Authentication (LDAP)",
    description = "Log in with directory (LDAP) credentials instead of Prosody's own password store (mod_auth_ldap, bind mode)",
    xeps = {},
    stability = "beta",
    dependencies = { "authentication/basic" },
    conflicts = { "registration/open", "registration/invites" },
    modules = { "auth_ldap" },
    toggles = { "PROSODY_FEATURES_AUTH_EXTERNAL" },
    checks = {},
}

local env = pfe.env -- nil when unset or empty

-- Required settings are only enforced when the feature is enabled (pfe also
-- reads this file for feature_info while deciding what is enabled).
local enabled = pfe.feature("authentication/external")

local server = env("PROSODY_LDAP_SERVER") or "localhost"
local base = env("PROSODY_LDAP_BASE")
if enabled and not env("PROSODY_LDAP_SERVER") then
    error("authentication/external needs PROSODY_LDAP_SERVER (LDAP host or host:port), or switch it off with PROSODY_FEATURES_AUTH_EXTERNAL=false")
end
if enabled and not base then
    error("authentication/external needs PROSODY_LDAP_BASE (search base, e.g. ou=people,dc=example,dc=com)")
end
if enabled and (env("PROSODY_REQUIRE_CHANNEL_BINDING") or "false"):lower() == "true" then
    error("PROSODY_REQUIRE_CHANNEL_BINDING=true cannot be used with authentication/external: LDAP bind login needs PLAIN, which has no channel binding")
end

local scope = (env("PROSODY_LDAP_SCOPE") or "subtree"):lower()
if scope ~= "subtree" and scope ~= "onelevel" and scope ~= "base" then
    error(("PROSODY_LDAP_SCOPE must be subtree, onelevel or base, got %q"):format(scope))
end
local tls = (env("PROSODY_LDAP_TLS") or "false"):lower()
if tls ~= "true" and tls ~= "false" then
    error(("PROSODY_LDAP_TLS must be 'true' or 'false', got %q"):format(tls))
end
local filter = env("PROSODY_LDAP_FILTER") or "(uid=$user)"
if not filter:find("$user", 1, true) then
    error(("PROSODY_LDAP_FILTER must contain $user (replaced by the login name), got %q"):format(filter))
end

authentication = "ldap"
ldap_mode = "bind"
ldap_server = server
ldap_base = base
ldap_scope = scope
ldap_filter = filter
ldap_tls = tls == "true"

local rootdn = env("PROSODY_LDAP_ROOTDN")
if rootdn then
    ldap_rootdn = rootdn
    ldap_password = Credential("ldap_password")
end

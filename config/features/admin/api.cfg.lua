-- features/admin/api.cfg.lua — HTTP API (prosody-modules mod_rest) at /rest.
--
-- Clients authenticate with HTTP Basic (JID + password) or Bearer tokens; a
-- request acts as that account (admins can act as the server), e.g.
--   curl -u admin@example.com:pw -H 'Content-Type: application/json' \
--        https://example.com:5281/rest/ping/example.com
-- Put it behind TLS (https_ports / reverse proxy). Upstream labels mod_rest
-- alpha; it loads cleanly on Prosody 13.0.1 and its HTTP API is stable in
-- practice, hence beta.

feature_info = {
    name = "REST API",
    description = "HTTP API at /rest to send stanzas and run queries as an authenticated account (mod_rest; Basic or Bearer auth)",
    xeps = {},
    stability = "beta",
    dependencies = { "web/http" },
    conflicts = {},
    modules = { "rest" },
    toggles = { "PROSODY_FEATURES_ADMIN_API" },
    -- No XEP to prove; unauthenticated GET /rest/… answers 401.
    checks = {},
}

modules_enabled = modules_enabled or {}
modules_enabled:append { "rest" }

rest_auth_mechanisms = { "Basic", "Bearer" }

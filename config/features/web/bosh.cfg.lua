-- features/web/bosh.cfg.lua — XMPP over BOSH at /http-bind (fallback for web
-- clients and networks without WebSocket; needed by web/admin).

feature_info = {
    name = "BOSH",
    description = "XMPP over HTTP long-polling (BOSH, XEP-0124/XEP-0206) at /http-bind",
    xeps = { "XEP-0124", "XEP-0206" },
    stability = "stable",
    dependencies = { "web/http" },
    conflicts = {},
    modules = { "bosh" },
    toggles = { "PROSODY_FEATURES_WEB_ENABLED" },
    -- The probe opens a BOSH session (XEP-0124) carrying an XMPP stream
    -- (XEP-0206: xmpp:version and stream features), then terminates it.
    checks = {
        { xep = "XEP-0124", where = "http", probe = "bosh", path = "/http-bind", status = 200, module = "bosh" },
        { xep = "XEP-0206", where = "http", probe = "bosh", path = "/http-bind", status = 200, module = "bosh" },
    },
}

modules_enabled = modules_enabled or {}
modules_enabled:append { "bosh" }

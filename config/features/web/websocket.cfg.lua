-- features/web/websocket.cfg.lua — XMPP over WebSocket (RFC 7395) at
-- /xmpp-websocket, advertised through host-meta (web/http).

feature_info = {
    name = "WebSocket",
    description = "XMPP over WebSocket (RFC 7395) at /xmpp-websocket for browser clients",
    xeps = {},
    stability = "stable",
    dependencies = { "web/http" },
    conflicts = {},
    modules = { "websocket" },
    toggles = { "PROSODY_FEATURES_WEB_ENABLED" },
    checks = {
        -- Not a XEP: RFC 7395. The probe asks for an upgrade with subprotocol
        -- "xmpp" and checks the 101 answer (a plain GET only gets a page).
        { xep = "RFC 7395", where = "http", probe = "websocket", path = "/xmpp-websocket", status = 101, module = "websocket" },
    },
}

modules_enabled = modules_enabled or {}
modules_enabled:append { "websocket" }

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
        -- Not a XEP: RFC 7395. A plain GET answers with an informational page.
        { xep = "RFC 7395", where = "http", path = "/xmpp-websocket", status = 200, module = "websocket" },
    },
}

modules_enabled = modules_enabled or {}
modules_enabled:append { "websocket" }

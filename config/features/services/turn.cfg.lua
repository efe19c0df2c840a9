-- features/services/turn.cfg.lua — announce an external STUN/TURN server
-- (e.g. coturn) for audio/video calls (Prosody 13 mod_external_services).
--
-- TURN credentials are derived per user from the TURN server's shared secret
-- (coturn: use-auth-secret + static-auth-secret). The secret is never written
-- into the config: the entries reference ENV_PROSODY_TURN_SECRET, which Prosody
-- reads from its environment at start. If it is missing there, only STUN is
-- usable (TURN is announced without credentials).

feature_info = {
    name = "STUN/TURN Discovery",
    description = "Tells clients which STUN/TURN server to use for calls and hands out time-limited TURN credentials (XEP-0215)",
    xeps = { "XEP-0215" },
    stability = "stable",
    dependencies = { "messaging/core" },
    conflicts = {},
    modules = { "external_services" },
    toggles = { "PROSODY_FEATURES_SERVICES_TURN" },
    checks = {
        { xep = "XEP-0215", where = "extdisco", type = "stun", module = "external_services" },
    },
}

local host = os.getenv("PROSODY_TURN_HOST")
if host == nil or host == "" then host = pfe.domain end
if not host:match("^[%w%.%-:%[%]]+$") then
    error(("PROSODY_TURN_HOST must be a host name or IP address, got %q"):format(host))
end
local port_text = os.getenv("PROSODY_TURN_PORT") or "3478"
local port = tonumber(port_text)
if not port_text:match("^%d+$") or port < 1 or port > 65535 then
    error(("PROSODY_TURN_PORT must be a port number 1-65535, got %q"):format(port_text))
end
port = math.tointeger(port)

if os.getenv("PROSODY_TURN_SECRET") == nil then
    log("info", "services/turn: PROSODY_TURN_SECRET is not set here; Prosody must get it in its environment for TURN credentials")
end

modules_enabled = modules_enabled or {}
modules_enabled:append { "external_services" }

external_services = {
    { type = "stun", transport = "udp", host = host, port = port },
    { type = "turn", transport = "udp", host = host, port = port, secret = ENV_PROSODY_TURN_SECRET },
    { type = "turn", transport = "tcp", host = host, port = port, secret = ENV_PROSODY_TURN_SECRET },
}
external_service_ttl = "1 day"

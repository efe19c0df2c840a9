-- core/global.cfg.lua — process-wide settings: administrators, listening ports,
-- logging.
--
-- Seed -> real options:
--   * the seed's file/syslog logging (/var/log/prosody/*.log) is replaced by
--     console logging (stdout), which is what containers and systemd collect;
--     the level comes from PROSODY_LOG_LEVEL (environments refine it);
--   * PROSODY_*_PORT become Prosody's real port lists (c2s_ports, s2s_ports,
--     http_ports, https_ports, c2s_direct_tls_ports) and are only set when the
--     variable is set, so Prosody's defaults (5222/5269/5280/5281) apply otherwise;
--   * PROSODY_C2S_DIRECT_TLS_PORT (XEP-0368 direct TLS): the standard and
--     enterprise profiles set it to 5223, the development environment (and
--     testing, which extends it) to "off"; "off" (or unset) opens no
--     direct-TLS listener, which is also Prosody's default.
-- All options here are global-only in Prosody (see prosodyctl check config).

local env = pfe.env -- nil when unset or empty

if env("PROSODY_LEGACY_MODE") == "true" then
    log("warn", "PROSODY_LEGACY_MODE=true is ignored: pfe always renders the Profile-Feature-Environment layout")
end

-- Administrators -------------------------------------------------------------
local admin_list = {}
for jid in (env("PROSODY_ADMINS") or ""):gmatch("[^,%s]+") do
    if not jid:match("^[^@/]+@[^@/]+$") then
        error(("PROSODY_ADMINS: %q is not a bare JID (user@domain); "
            .. "give a comma-separated list like admin@example.com,ops@example.com"):format(jid))
    end
    table.insert(admin_list, jid)
end
admins = admin_list

-- Ports ------------------------------------------------------------------------
local function port(name)
    local v = env(name)
    if v == nil then return nil end
    local n = tonumber(v)
    if not v:match("^%d+$") or n < 1 or n > 65535 then
        error(("%s must be an integer port number 1-65535, got %q"):format(name, v))
    end
    return math.tointeger(n)
end

local p = port("PROSODY_C2S_PORT")
if p then c2s_ports = { p } end
local direct_tls = env("PROSODY_C2S_DIRECT_TLS_PORT")
if direct_tls == nil or direct_tls:lower() == "off" then
    -- no direct-TLS listener (Prosody's default: c2s_direct_tls_ports = {})
elseif not direct_tls:match("^%d+$") or tonumber(direct_tls) < 1 or tonumber(direct_tls) > 65535 then
    error(("PROSODY_C2S_DIRECT_TLS_PORT must be an integer port number 1-65535 or 'off', got %q"):format(direct_tls))
else
    c2s_direct_tls_ports = { math.tointeger(tonumber(direct_tls)) }
end
p = port("PROSODY_S2S_PORT")
if p then s2s_ports = { p } end
p = port("PROSODY_HTTP_PORT")
if p then http_ports = { p } end
p = port("PROSODY_HTTPS_PORT")
if p then https_ports = { p } end

-- Logging -----------------------------------------------------------------------
local level = (env("PROSODY_LOG_LEVEL") or "info"):lower()
local known_levels = { debug = true, info = true, warn = true, error = true }
if not known_levels[level] then
    error(("PROSODY_LOG_LEVEL must be one of debug, info, warn, error; got %q"):format(level))
end
log = {
    { levels = { min = level }, to = "console" },
}

-- features/services/proxy65.cfg.lua — SOCKS5 bytestream proxy on
-- proxy.<domain> for direct file transfers between clients behind NAT.
--
-- The proxy listens on proxy65_ports (global option; 5000 unless
-- PROSODY_PROXY65_PORT is set) — publish that port too. Clients connect to
-- proxy65_address (PROSODY_PROXY65_ADDRESS, default proxy.<domain>, which
-- needs a DNS record). Only users of this server may use it (Prosody default).

feature_info = {
    name = "File Transfer Proxy",
    description = "SOCKS5 bytestreams proxy proxy.<domain> relaying peer-to-peer file transfers (XEP-0065)",
    xeps = { "XEP-0065" },
    stability = "stable",
    dependencies = { "messaging/core" },
    conflicts = {},
    modules = { "proxy65" },
    toggles = { "PROSODY_FEATURES_SERVICES_PROXY65" },
    checks = {
        { xep = "XEP-0065", where = "component_disco", category = "proxy", type = "bytestreams",
          var = "http://jabber.org/protocol/bytestreams", module = "proxy65" },
    },
}

local port_text = os.getenv("PROSODY_PROXY65_PORT")
if port_text and port_text ~= "" then
    local port = tonumber(port_text)
    if not port_text:match("^%d+$") or port < 1 or port > 65535 then
        error(("PROSODY_PROXY65_PORT must be a port number 1-65535, got %q"):format(port_text))
    end
    proxy65_ports = { math.tointeger(port) }
end

local address = os.getenv("PROSODY_PROXY65_ADDRESS")

for _, domain in ipairs(pfe.domains) do Component("proxy." .. domain) "proxy65"
    name = "File transfer proxy"
    if address and address ~= "" then
        proxy65_address = address
    end
end

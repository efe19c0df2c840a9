-- features/web/http.cfg.lua — Prosody's HTTP server (ports 5280/5281 unless
-- PROSODY_HTTP_PORT / PROSODY_HTTPS_PORT say otherwise, see core/global.cfg.lua)
-- and XEP-0156 connection discovery (/.well-known/host-meta).
--
-- Prosody 13 binds plain HTTP to loopback only (HTTPS to every interface).
-- PROSODY_HTTP_INTERFACES=* (what the image, pfe compose and pfe k8s set)
-- makes the published plain-HTTP port reachable from outside the container;
-- unset keeps Prosody's loopback default for a bare-metal reverse proxy.

feature_info = {
    name = "HTTP Server",
    description = "Prosody's HTTP/HTTPS server for web clients, uploads and APIs, with alternative-connection discovery via /.well-known/host-meta (XEP-0156)",
    xeps = { "XEP-0156" },
    stability = "stable",
    dependencies = {},
    conflicts = {},
    modules = { "http", "http_altconnect" },
    toggles = { "PROSODY_FEATURES_WEB_ENABLED" },
    checks = {
        -- The XRD must list urn:xmpp:alt-connections:* links.
        { xep = "XEP-0156", where = "http", probe = "host-meta", path = "/.well-known/host-meta", status = 200, module = "http_altconnect" },
    },
}

modules_enabled = modules_enabled or {}
modules_enabled:append { "http", "http_altconnect" }

-- Requests whose Host header names no virtual host (e.g. an IP address or a
-- container name) are served by the main domain.
http_default_host = pfe.domain

local http_ifs = os.getenv("PROSODY_HTTP_INTERFACES")
if http_ifs and http_ifs ~= "" then
    local list = {}
    for item in http_ifs:gmatch("[^,%s]+") do
        if item ~= "*" and not item:match("^[%x%.:]+$") then
            error(("PROSODY_HTTP_INTERFACES: %q is not '*' or an IP address"):format(item))
        end
        table.insert(list, item)
    end
    if #list > 0 then
        http_interfaces = list
    end
end

local url = os.getenv("PROSODY_HTTP_EXTERNAL_URL")
if url and url ~= "" then
    if not url:match("^https?://[^/]+") then
        error(("PROSODY_HTTP_EXTERNAL_URL must be an http(s) URL like https://xmpp.example.com/, got %q"):format(url))
    end
    http_external_url = url
end

local proxies = os.getenv("PROSODY_TRUSTED_PROXIES")
if proxies and proxies ~= "" then
    local list = { "127.0.0.1", "::1" }
    for item in proxies:gmatch("[^,%s]+") do
        if not item:match("^[%x%.:]+/?%d*$") then
            error(("PROSODY_TRUSTED_PROXIES: %q is not an IP address or CIDR"):format(item))
        end
        table.insert(list, item)
    end
    trusted_proxies = list
end

-- expect:
-- Options people set that Prosody does read, where pfe used to be wrong.
modules_enabled = { "disco", "roster", "saslauth", "tls", "bosh", "websocket" }

-- net/server.lua reads it: require"prosody.core.configmanager".get("*", "network_backend")
network_backend = "epoll"

-- mod_http is a global module: it reads these from the global section only.
http_cors_override = {
    bosh = { enabled = true };
    websocket = { enabled = true };
}
trusted_proxies = { "127.0.0.1", "::1" }

VirtualHost "example.org"

-- core/usermanager.lua loads the authorization provider on Components too:
-- mod_authz_internal reads `admins` here.
Component "conference.example.org" "muc"
    admins = { "owner@example.org" }

-- expect: PFE006
-- Community modules of upstream prosody-modules that Debian's package does
-- not ship, with their real options: each is "not installed" (PFE006, naming
-- the upstream snapshot), and none of their options is unknown (PFE001) or
-- the module unknown (PFE005).
modules_enabled = {
    "disco", "roster", "saslauth", "tls";
    "block_registrations";
    "limit_auth";
    "log_slow_events";
    "presence_cache";
    "s2s_keepalive";
    "throttle_unsolicited";
    "c2s_limit_sessions";
    "conversejs";
}

block_registrations_users = { "admin", "root", "postmaster" }
block_registrations_matching = { "^abuse", "^support" }
limit_auth_period = 30
limit_auth_max = 5
log_slow_events_threshold = 1
presence_cache_size = 200
keepalive_servers = { "example.net" }
keepalive_interval = 300
unsolicited_messages_per_minute = 10
max_resources = 5
conversejs_options = { debug = false; view_mode = "fullscreen" }
conversejs_tags = { '<link rel="manifest" href="/manifest.json">' }

VirtualHost "example.org"
    modules_enabled = { "alias" }
    aliases = { ["old@example.org"] = "new@example.org" }
    alias_response = "Please write to $target"

Component "conference.example.org" "muc"
    modules_enabled = { "muc_offline_delivery" }
    muc_offline_delivery_default = true

-- features/mobile/push.cfg.lua — push notifications for sleeping mobile apps
-- (XEP-0357, mod_cloud_notify, part of Prosody 13).
-- Privacy defaults: push payloads carry neither message body nor sender, the
-- app's push server only learns "something arrived".

feature_info = {
    name = "Push Notifications",
    description = "Wake up mobile clients through their push service when messages arrive while they are disconnected or hibernated (XEP-0357)",
    xeps = { "XEP-0357" },
    stability = "stable",
    dependencies = { "messaging/core", "mobile/smacks" },
    conflicts = {},
    modules = { "cloud_notify" },
    toggles = { "PROSODY_FEATURES_MOBILE_PUSH" },
    checks = {
        { xep = "XEP-0357", where = "account_disco", var = "urn:xmpp:push:0", module = "cloud_notify" },
    },
}

modules_enabled = modules_enabled or {}
modules_enabled:append { "cloud_notify" }

push_notification_with_body = false
push_notification_with_sender = false

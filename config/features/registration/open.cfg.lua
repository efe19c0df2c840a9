-- features/registration/open.cfg.lua — public in-band registration (anyone can
-- create an account from their client), rate-limited per IP.
--
-- allow_registration = true makes mod_register (messaging/core) load
-- mod_register_ibr (XEP-0077 registration form); mod_register_limits throttles
-- per IP and mod_watchregistrations tells the admins about new accounts.
-- The production environment always renders allow_registration = false;
-- use registration/invites there.

feature_info = {
    name = "Open Registration",
    description = "Anyone may create an account from their client (XEP-0077 in-band registration), one registration per IP per 5 minutes, admins are notified",
    xeps = { "XEP-0077" },
    stability = "stable",
    dependencies = { "messaging/core" },
    conflicts = {},
    modules = { "register_ibr", "register_limits", "watchregistrations" },
    toggles = { "PROSODY_ALLOW_REGISTRATION" },
    checks = {
        -- mod_register_ibr is loaded by mod_register (messaging/core) when allow_registration is true
        { xep = "XEP-0077", where = "stream_pre_auth", var = "http://jabber.org/features/iq-register", module = "register", when = "allow_registration" },
    },
}

allow_registration = true

-- Listed explicitly so their options below are visibly owned; mod_register_ibr
-- itself is left to mod_register, so allow_registration = false (production)
-- really closes registration.
modules_enabled = modules_enabled or {}
modules_enabled:append { "register_limits", "watchregistrations" }

-- mod_register_limits: registration_throttle_max registrations per
-- registration_throttle_period from one IP (loopback is allowlisted).
registration_throttle_max = 1
registration_throttle_period = "5 minutes"

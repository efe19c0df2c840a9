-- features/registration/invites.cfg.lua — invitation-based account creation
-- (Prosody 13's recommended way to let people join).
--
-- Admins create invites with `prosodyctl shell invite:create_account` or the
-- ad-hoc commands (mod_invites_adhoc); users may invite contacts
-- (allow_contact_invites). An invite link carries a token that the client
-- presents during in-band registration (urn:xmpp:ibr-token:0).
-- registration_invite_only = true (unless registration/open is on as well)
-- means registration without a valid invite is refused.

feature_info = {
    name = "Invitations",
    description = "Account creation by invitation only: admins/users create invite links, clients register with the token (XEP-0401), contacts are pre-approved (XEP-0379)",
    xeps = { "XEP-0401", "XEP-0379" },
    stability = "stable",
    dependencies = { "messaging/core" },
    conflicts = {},
    modules = { "invites", "invites_adhoc", "invites_register" },
    toggles = { "PROSODY_FEATURES_REGISTRATION_INVITES" },
    checks = {
        { xep = "XEP-0401", where = "stream_pre_auth", var = "urn:xmpp:ibr-token:0", module = "invites_register" },
        { xep = "XEP-0379", where = "none", module = "invites_register",
          why = "pre-authenticated subscription tokens are only seen in presence stanzas carrying an invite" },
    },
}

modules_enabled = modules_enabled or {}
modules_enabled:append { "invites", "invites_adhoc", "invites_register" }

registration_invite_only = not pfe.feature("registration/open")
invite_expiry = "1 week"
allow_user_invites = false
allow_contact_invites = true

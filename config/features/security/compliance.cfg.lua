-- features/security/compliance.cfg.lua — account lifecycle records for
-- audits and abuse handling.
--
-- * mod_tombstones: a deleted account's name cannot be registered again
--   (prevents impersonation of former users); tombstones expire after a year.
-- * mod_account_activity: records each account's last login, for
--   inactive-account reviews (prosodyctl shell).
-- * a published abuse/security contact (XEP-0157) is expected: set
--   PROSODY_CONTACT_EMAIL (used by messaging/core's contact_info).
-- Retention of messages (archive_expires_after) and uploads stays with the
-- features/profile that own them.

feature_info = {
    name = "Compliance",
    description = "Account tombstones against name reuse, last-activity records for account audits, and a published abuse contact (needs PROSODY_CONTACT_EMAIL)",
    xeps = {},
    stability = "stable",
    dependencies = { "messaging/core" },
    conflicts = {},
    modules = { "tombstones", "account_activity" },
    toggles = { "PROSODY_FEATURES_SECURITY_COMPLIANCE" },
    checks = {},
}

modules_enabled = modules_enabled or {}
modules_enabled:append { "tombstones", "account_activity" }

user_tombstone_expiry = "1y"

local email = os.getenv("PROSODY_CONTACT_EMAIL")
if email == nil or email == "" then
    log("warn", "security/compliance: set PROSODY_CONTACT_EMAIL so an abuse/security contact is published (XEP-0157)")
end

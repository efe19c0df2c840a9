-- features/admin/shell.cfg.lua — server administration.
--
-- * mod_admin_shell: `prosodyctl shell` (user:create, c2s:show, module:reload …)
--   over a UNIX socket in the data directory (mod_admin_socket), reachable only
--   from inside the host/container.
-- * mod_admin_adhoc: the same tasks as XEP-0133 ad-hoc commands from an admin's
--   XMPP client (admins = PROSODY_ADMINS).
-- Seed -> real: admin_shell_enabled = false (seed production) does not exist.
-- The shell is how accounts are created in Prosody 13 and is not network
-- exposed, so it stays; to drop it, leave this feature out
-- (PROSODY_FEATURES_ADMIN_SHELL=false).

feature_info = {
    name = "Administration Shell",
    description = "prosodyctl shell over a local UNIX socket, and admin ad-hoc commands for XMPP clients (XEP-0133 over XEP-0050)",
    xeps = { "XEP-0050", "XEP-0133" },
    stability = "stable",
    dependencies = { "messaging/core" },
    conflicts = {},
    modules = { "admin_shell", "admin_adhoc" },
    toggles = { "PROSODY_FEATURES_ADMIN_SHELL" },
    checks = {
        { xep = "XEP-0050", where = "server_disco", var = "http://jabber.org/protocol/commands", module = "admin_adhoc" },
        { xep = "XEP-0133", where = "none", module = "admin_adhoc",
          why = "admin commands are ad-hoc nodes listed (to admins only) under disco#items node http://jabber.org/protocol/commands" },
    },
}

modules_enabled = modules_enabled or {}
modules_enabled:append { "admin_shell", "admin_adhoc" }

-- features/web/admin.cfg.lua — web administration console at /admin
-- (prosody-modules mod_admin_web).
--
-- ALPHA: Debian's prosody-modules ships mod_admin_web without its JavaScript
-- dependencies (jQuery, Strophe.js, adhoc.js are fetched by get_deps.sh, which
-- the package does not run), so /admin loads but the console stays empty until
-- those files are added to mod_admin_web/admin_web/www_files/js. It also uses
-- Prosody's deprecated is_admin() API: Prosody 13 logs "Usage of legacy
-- is_admin() API" warnings with a traceback at start-up and on use. It pulls
-- in mod_bosh and mod_admin_adhoc by itself.

feature_info = {
    name = "Web Admin Console",
    description = "Browser console at /admin listing c2s/s2s sessions and running admin ad-hoc commands (mod_admin_web; needs its JS files installed separately)",
    xeps = {},
    stability = "alpha",
    dependencies = { "web/http", "web/bosh", "admin/shell" },
    conflicts = {},
    modules = { "admin_web" },
    toggles = { "PROSODY_FEATURES_ADMIN_WEB" },
    -- No XEP to prove; the page is GET /admin/ on the HTTP port.
    checks = {},
}

modules_enabled = modules_enabled or {}
modules_enabled:append { "admin_web" }

-- pfe: allow(PFE001)
my_own_module_setting = true
modules_enabled:append { "my_own_module" } -- pfe: allow(unknown-module)

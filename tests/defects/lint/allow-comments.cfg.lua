-- expect:
-- Every defect here is silenced by a pfe: allow comment on its line or the line above.
modules_enabled = {
    "disco", "roster", "saslauth", "tls";
    "my_local_module"; -- pfe: allow(PFE005)
}
-- pfe: allow(unknown-option)
my_local_module_setting = true
-- pfe: allow(PFE007)
require_encryption = true

VirtualHost "example.org"

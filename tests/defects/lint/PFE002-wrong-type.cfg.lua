-- expect: PFE002
modules_enabled = { "disco", "roster", "saslauth", "tls", "mam" }
c2s_require_encryption = "yes"           -- a string where a boolean is expected
c2s_stanza_size_limit = 512              -- below mod_c2s's minimum of 10000
default_archive_policy = "sometimes"     -- not one of roster, always, never (or a boolean)
archive_expires_after = "10m"            -- months or minutes?

VirtualHost "example.org"

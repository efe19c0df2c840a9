c2s_require_encryption = = true

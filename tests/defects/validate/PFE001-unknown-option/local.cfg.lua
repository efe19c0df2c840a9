c2s_require_encrption = true -- typo: c2s_require_encryption

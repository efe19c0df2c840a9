s2s_secure_auth = "yes" -- a string where a boolean is expected

modules_enabled:append { "pep", "pep_simple" }

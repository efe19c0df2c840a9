feature_info = { name = "Dep", description = "Switched off by the environment", stability = "stable" }

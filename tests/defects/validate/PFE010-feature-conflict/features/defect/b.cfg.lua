feature_info = { name = "B", description = "Conflicts with A", stability = "stable" }

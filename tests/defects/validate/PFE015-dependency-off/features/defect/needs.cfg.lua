feature_info = { name = "Needs", description = "Needs defect/dep", stability = "stable", dependencies = { "defect/dep" } }

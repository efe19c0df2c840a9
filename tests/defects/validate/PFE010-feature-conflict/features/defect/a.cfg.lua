feature_info = { name = "A", description = "Conflicts with B", stability = "stable", conflicts = { "defect/b" } }

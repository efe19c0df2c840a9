profile_info = { name = "Defect", description = "Asks for two conflicting features", features = { "defect/base", "defect/a", "defect/b" } }

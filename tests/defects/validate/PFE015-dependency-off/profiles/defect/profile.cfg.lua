profile_info = { name = "Defect", description = "A feature whose dependency is off", features = { "defect/base", "defect/needs" } }

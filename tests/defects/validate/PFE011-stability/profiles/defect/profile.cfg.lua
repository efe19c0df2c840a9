profile_info = { name = "Defect", description = "Asks for an alpha feature in a stable/beta environment", features = { "defect/base", "defect/shiny" } }

feature_info = { name = "Shiny", description = "Not ready", stability = "alpha" }

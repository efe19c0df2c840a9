environment_info = {
    name = "Defect",
    description = "An environment for the validate defect corpus",
    allow_stability = { "stable", "beta" },
}

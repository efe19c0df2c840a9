environment_info = {
    name = "Defect",
    description = "Switches defect/dep off",
    allow_stability = { "stable", "beta" },
    variables = { PROSODY_FEATURES_DEFECT_DEP = "false" },
}

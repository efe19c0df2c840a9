profile_info = {
    name = "Defect",
    description = "A minimal profile for the validate defect corpus",
    features = { "defect/base" },
}

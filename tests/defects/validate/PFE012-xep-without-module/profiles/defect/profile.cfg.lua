profile_info = { name = "Defect", description = "A feature without its module", features = { "defect/base", "defect/receipts" } }

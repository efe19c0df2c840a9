-- Not enabled by the profile: its metadata is checked all the same.
feature_info = { name = "Orphan", description = "Needs a feature that does not exist", stability = "stable", dependencies = { "defect/bsae" } }

-- Promises XEP-0313 but never enables mod_mam.
feature_info = { name = "Archive", description = "Claims MAM", xeps = { "XEP-0313" }, stability = "stable", modules = { "mam" } }

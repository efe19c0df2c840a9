-- Not enabled by the profile: its checks are parsed all the same, so the
-- typo in `where` is a catalog error now, not "unknown check location"
-- during a live check.
feature_info = {
    name = "Typo",
    description = "A check whose location is misspelt",
    stability = "stable",
    checks = {
        { xep = "XEP-0199", where = "server_disko", var = "urn:xmpp:ping" },
    },
}

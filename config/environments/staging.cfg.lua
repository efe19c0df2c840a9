-- environments/staging.cfg.lua — a rehearsal of production: the same
-- hardening and limits (it extends production), so what works here works live.

environment_info = {
    name = "Staging",
    description = "Pre-production copy of the live setup: production hardening and rate limits, info logging, no public registration",
    extends = "production",
    allow_stability = { "stable", "beta" },
    registration_open = false,
    variables = {
        PROSODY_LOG_LEVEL = "info",
    },
}

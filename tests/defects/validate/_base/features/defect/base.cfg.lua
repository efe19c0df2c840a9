feature_info = {
    name = "Defect base",
    description = "Login, service discovery and ping, nothing else",
    xeps = { "XEP-0030", "XEP-0199" },
    stability = "stable",
    modules = { "saslauth", "disco", "ping" },
}

modules_enabled = modules_enabled or {}
modules_enabled:append { "saslauth", "disco", "ping" }

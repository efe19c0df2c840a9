-- features/security/monitoring.cfg.lua — metrics and login auditing.
--
-- * /metrics (OpenMetrics/Prometheus, mod_http_openmetrics) — only loopback
--   may scrape unless PROSODY_METRICS_ALLOW_CIDR names your monitoring network;
--   statistics are collected when scraped (statistics_interval = "manual").
-- * failed logins are logged with the client's IP (community mod_log_auth,
--   stable upstream) at level info — feed them to fail2ban/CrowdSec.

feature_info = {
    name = "Monitoring",
    description = "Prometheus/OpenMetrics endpoint /metrics (loopback or PROSODY_METRICS_ALLOW_CIDR) and logging of failed logins with client IPs",
    xeps = {},
    stability = "stable",
    dependencies = { "web/http" },
    conflicts = {},
    modules = { "http_openmetrics", "log_auth" },
    toggles = { "PROSODY_FEATURES_SECURITY_MONITORING" },
    -- No XEP to prove; the endpoint is GET /metrics (200 from allowed IPs, else 403).
    checks = {},
}

modules_enabled = modules_enabled or {}
modules_enabled:append { "http_openmetrics", "log_auth" }

statistics = "internal"
statistics_interval = "manual"
log_auth_ips = "failure"

local cidr = os.getenv("PROSODY_METRICS_ALLOW_CIDR")
if cidr and cidr ~= "" then
    if not cidr:match("^[%x%.:]+/%d+$") then
        error(("PROSODY_METRICS_ALLOW_CIDR must be one CIDR like 172.20.0.0/16, got %q"):format(cidr))
    end
    openmetrics_allow_cidr = cidr
end

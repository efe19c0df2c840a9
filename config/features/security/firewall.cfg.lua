-- features/security/firewall.cfg.lua — rule-based stanza filtering
-- (prosody-modules mod_firewall).
--
-- Seed -> real: the seed's production firewall_scripts pointed at
-- /etc/prosody/firewall/production-rules.pfw, a file nobody ships. The catalog
-- only references rule files that exist:
--   * default: module:scripts/spam-blocking.pfw, shipped by prosody-modules
--     (resolved inside the module's directory): messages of types other than
--     'chat' and presence other than subscription requests from strangers
--     (no roster subscription) are rejected;
--   * PROSODY_FIREWALL_SCRIPTS: your own comma-separated list (absolute paths
--     you mount into the container, or further module:scripts/... files);
--     'none' keeps the module loaded with no rules.
-- Upstream labels mod_firewall alpha; it has been in wide use for years and
-- loads cleanly on Prosody 13.0.1, hence beta here.

feature_info = {
    name = "Stanza Firewall",
    description = "Rule-based stanza filtering (mod_firewall); by default upstream's stranger-filtering ruleset spam-blocking.pfw",
    xeps = {},
    stability = "beta",
    dependencies = { "messaging/core" },
    conflicts = {},
    modules = { "firewall" },
    toggles = { "PROSODY_FEATURES_SECURITY_ENHANCED" },
    checks = {},
}

modules_enabled = modules_enabled or {}
modules_enabled:append { "firewall" }

local scripts = os.getenv("PROSODY_FIREWALL_SCRIPTS")
if scripts == nil or scripts == "" then
    firewall_scripts = { "module:scripts/spam-blocking.pfw" }
elseif scripts:lower() == "none" then
    firewall_scripts = {}
else
    local list = {}
    for item in scripts:gmatch("[^,]+") do
        item = item:match("^%s*(.-)%s*$")
        if not (item:match("^/") or item:match("^module:")) then
            error(("PROSODY_FIREWALL_SCRIPTS: %q must be an absolute path or module:scripts/<file>"):format(item))
        end
        table.insert(list, item)
    end
    firewall_scripts = list
end

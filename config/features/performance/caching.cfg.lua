-- features/performance/caching.cfg.lua — larger in-memory caches for servers
-- with many active users (Prosody's defaults suit a few hundred).
-- Only caches of modules that are actually enabled are touched. Budget
-- roughly 256 MB more memory than the profile's baseline.

feature_info = {
    name = "Caching",
    description = "Bigger in-memory caches (PEP services, blocklists, archive quotas, tombstones, live MUC rooms) to cut storage round-trips",
    xeps = {},
    stability = "stable",
    dependencies = { "messaging/core" },
    conflicts = {},
    modules = {},
    toggles = { "PROSODY_FEATURES_PERFORMANCE_CACHING" },
    checks = {},
}

-- mod_pep (messaging/core): defaults 1000 services / 10000 info entries
pep_service_cache_size = 10000
pep_info_cache_size = 50000

-- mod_storage_sql (core/database.cfg.lua): per-user archive quota cache, default 1000
storage_archive_item_limit_cache_size = 10000

if pfe.feature("messaging/blocking") then
    blocklist_cache_size = 4096 -- default 256
end
if pfe.feature("security/compliance") then
    tombstone_cache_size = 8192 -- default 1024
end
if pfe.feature("collaboration/muc") then
    for _, domain in ipairs(pfe.domains) do Component("conference." .. domain) "muc"
        muc_room_cache_size = 1000 -- rooms kept in memory, default 100
    end
end

-- features/authentication/modern.cfg.lua — SASL2, Bind2, FAST and SCRAM
-- downgrade protection (prosody-modules; SASL2 is not in Prosody 13 core).
--
-- Inner switches, as in the seed (each defaults to on):
--   PROSODY_FEATURES_AUTH_SASL2=false               no mod_sasl2 (and so no Bind2/FAST)
--   PROSODY_FEATURES_AUTH_BIND2=false               no mod_sasl2_bind2 / mod_sasl2_sm
--   PROSODY_FEATURES_AUTH_FAST=false                no mod_sasl2_fast
--   PROSODY_FEATURES_AUTH_DOWNGRADE_PROTECTION=false no mod_sasl_ssdp
-- FAST is on by default (the seed made it opt-in): token login is what
-- Conversations, Monal, Dino etc. use to reconnect without the password.
--
-- Seed -> real options:
--   sasl2_require_encryption      -> c2s_require_encryption (core/security.cfg.lua;
--                                    mod_sasl2 reads it, SASL2 is only offered on TLS)
--   sasl2_timeout                 -> c2s_timeout (global; from PROSODY_SASL2_TIMEOUT,
--                                    time allowed to authenticate, SASL or SASL2)
--   sasl2_bind2_enable_carbons    -> nothing to set: mod_sasl2_bind2 always offers
--                                    inline carbons/CSI; clients opt in
--   sasl2_bind2_enable_sm         -> mod_sasl2_sm (inline stream resumption), added
--                                    when mobile/smacks is enabled
--   sasl2_fast_token_ttl          -> real option of mod_sasl2_fast (seconds), from
--                                    PROSODY_FAST_TOKEN_TTL; rotation after
--                                    sasl2_fast_token_min_ttl (real, half the TTL, max. 1 day)
--   sasl2_fast_max_tokens_per_user-> does not exist (PROSODY_FAST_MAX_TOKENS is ignored)
--   sasl_enabled_mechanisms / authentication_policy -> see authentication/basic
-- mod_sasl_ssdp (XEP-0474) is in this prosody-modules snapshot; it hooks both
-- legacy SASL and SASL2 challenges.

feature_info = {
    name = "Modern Authentication",
    description = "Next-generation login: SASL2 (XEP-0388) with inline resource binding (Bind2, XEP-0386), "
        .. "FAST token re-authentication (XEP-0484) and SCRAM downgrade protection (XEP-0474)",
    xeps = { "XEP-0388", "XEP-0386", "XEP-0484", "XEP-0474" },
    stability = "beta",
    dependencies = { "authentication/basic" },
    conflicts = {},
    modules = { "sasl2", "sasl2_bind2", "sasl2_sm", "sasl2_fast", "sasl_ssdp" },
    toggles = { "PROSODY_FEATURES_AUTH_MODERN" },
    checks = {
        { xep = "XEP-0388", where = "stream_pre_auth", var = "urn:xmpp:sasl:2", module = "sasl2" },
        { xep = "XEP-0386", where = "sasl2_inline", var = "urn:xmpp:bind:0", module = "sasl2_bind2" },
        -- mod_sasl2_fast only advertises FAST when the stream header's 'from'
        -- names the account (user@domain).
        { xep = "XEP-0484", where = "sasl2_inline", var = "urn:xmpp:fast:0", module = "sasl2_fast" },
        -- Stream resumption inside SASL2 (mod_sasl2_sm, on with mobile/smacks).
        { xep = "XEP-0198", where = "sasl2_inline", var = "urn:xmpp:sm:3", module = "sasl2_sm" },
        { xep = "XEP-0474", where = "none", module = "sasl_ssdp",
          why = "the downgrade-protection hash travels inside the SCRAM server-first-message (h= attribute); nothing is advertised" },
    },
}

local function switch(name)
    local v = (os.getenv(name) or "true"):lower()
    if v ~= "true" and v ~= "false" then
        error(("%s must be 'true' or 'false', got %q"):format(name, v))
    end
    return v == "true"
end

local function seconds(name, default, minimum)
    local v = os.getenv(name)
    if v == nil or v == "" then return default end
    local n = tonumber(v)
    if not v:match("^%d+$") or n < minimum then
        error(("%s must be a whole number of seconds (at least %d), got %q"):format(name, minimum, v))
    end
    return math.tointeger(n)
end

local enabled = {}

if switch("PROSODY_FEATURES_AUTH_SASL2") then
    table.insert(enabled, "sasl2")

    if switch("PROSODY_FEATURES_AUTH_BIND2") then
        table.insert(enabled, "sasl2_bind2")
        -- Stream resumption inside SASL2 needs mod_smacks, which mobile/smacks owns.
        if pfe.feature("mobile/smacks") then
            table.insert(enabled, "sasl2_sm")
        end
    end

    if switch("PROSODY_FEATURES_AUTH_FAST") then
        table.insert(enabled, "sasl2_fast")
        local ttl = seconds("PROSODY_FAST_TOKEN_TTL", 21 * 86400, 3600)
        sasl2_fast_token_ttl = ttl
        sasl2_fast_token_min_ttl = math.min(86400, ttl // 2)
    end
elseif os.getenv("PROSODY_FEATURES_AUTH_BIND2") == "true" or os.getenv("PROSODY_FEATURES_AUTH_FAST") == "true" then
    log("warn", "Bind2 and FAST need SASL2: PROSODY_FEATURES_AUTH_SASL2=false switches them off")
end

if switch("PROSODY_FEATURES_AUTH_DOWNGRADE_PROTECTION") then
    table.insert(enabled, "sasl_ssdp")
end

if #enabled > 0 then
    modules_enabled = modules_enabled or {}
    modules_enabled:append(enabled)
end

local timeout = seconds("PROSODY_SASL2_TIMEOUT", nil, 10)
if timeout then
    c2s_timeout = timeout
end

local max_tokens = os.getenv("PROSODY_FAST_MAX_TOKENS")
if max_tokens and max_tokens ~= "" then
    log("warn", "PROSODY_FAST_MAX_TOKENS=%s is ignored: mod_sasl2_fast has no per-user token limit", max_tokens)
end

log("info", "Modern authentication modules: %s", #enabled > 0 and table.concat(enabled, ", ") or "none")

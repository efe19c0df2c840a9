-- pfe's trusted prelude. It runs once per Lua state with the standard
-- library still in reach, keeps what it needs in locals, and hands Rust an
-- API for building sandboxed config environments. Config files never see
-- anything defined here except through the environment built by new_env.
local host = ...

local debug_getinfo, debug_getlocal, debug_sethook, debug_gethook = debug.getinfo, debug.getlocal, debug.sethook, debug.gethook
local load = load -- text chunks of Included files only
local clock = os.clock
local setmetatable, getmetatable, rawget, rawset = setmetatable, getmetatable, rawget, rawset
local type, pairs, ipairs, next, select, tostring, tonumber = type, pairs, ipairs, next, select, tostring, tonumber
local error, pcall, assert = error, pcall, assert
local t_insert, t_pack, t_unpack, s_format, s_match, s_sub = table.insert, table.pack, table.unpack, string.format, string.match, string.sub

-- Config code must not reach the real string library through ("x"):rep.
getmetatable("").__metatable = false

local api = {}

local s_lower = string.lower
local m_tointeger = math.tointeger
local FLAGS = { ["true"] = true, ["1"] = true, yes = true, on = true,
    ["false"] = false, ["0"] = false, no = false, off = false }

-- Names whose assignment is metadata about the file, not a Prosody option.
local META = { profile_info = true, feature_info = true, environment_info = true, variables = true }

local FORBIDDEN = {
    io = "io is not available in pfe's sandbox: configuration files cannot read or write files",
    require = "require is not available in pfe's sandbox: a configuration file cannot load Lua modules",
    dofile = "dofile is not available in pfe's sandbox",
    loadfile = "loadfile is not available in pfe's sandbox",
    load = "load is not available in pfe's sandbox: configuration files cannot compile code at run time",
    loadstring = "loadstring is not available in pfe's sandbox",
    debug = "debug is not available in pfe's sandbox",
    collectgarbage = "collectgarbage is not available in pfe's sandbox",
    package = "package is not available in pfe's sandbox",
    RunScript = "RunScript is not available in pfe's sandbox: configuration files cannot run other scripts",
    setmetatable = "setmetatable is not available in pfe's sandbox",
    getmetatable = "getmetatable is not available in pfe's sandbox",
    rawset = "rawset is not available in pfe's sandbox",
    rawget = "rawget is not available in pfe's sandbox",
    coroutine = "coroutine is not available in pfe's sandbox",
    _G = "_G is not available in pfe's sandbox: assign options directly",
}

-- A read-only view of `lib`; `on_read`, if given, runs at every read.
local function readonly(lib, name, on_read)
    return setmetatable({}, {
        __index = function(_, k)
            if on_read then on_read() end
            local v = lib[k]
            if v == nil then
                error(s_format("%s.%s is not available in pfe's sandbox", name, tostring(k)), 2)
            end
            return v
        end,
        __newindex = function(_, k)
            error(s_format("%s is read-only in pfe's sandbox (tried to set %s.%s)", name, name, tostring(k)), 2)
        end,
        __metatable = false,
    })
end

-- References kept as written: Credential("x"), ENV_X, FileContents("f").
local expr_mt = { __pfe_expr = true, __metatable = false }
api.expr_mt = expr_mt -- mod.rs to_value tells a kept expression by it
expr_mt.__tostring = function(self) return rawget(self, "expr") end
expr_mt.__concat = function()
    error("a Credential/ENV_/File reference is resolved by Prosody at start-up and cannot be concatenated here", 2)
end
local function make_expr(text) return setmetatable({ expr = text }, expr_mt) end
function api.expr_text(v)
    if type(v) == "table" and getmetatable(v) == false and rawget(v, "expr") ~= nil then
        return rawget(v, "expr")
    end
    return nil
end

-- Where in a config file are we? Walk up to the first frame of a config chunk.
local chunk_ids = {}
-- The compiled chunk of each file, by function (api.exec fills it): most
-- assignments run in the chunk itself, which is found without asking for
-- the source ("S" builds its text anew on every call).
local chunk_fns = setmetatable({}, { __mode = "k" })
local function where()
    for level = 3, 40 do
        local info = debug_getinfo(level, "fl")
        if not info then break end
        local id = chunk_fns[info.func]
        if id then return id, info.currentline end
        local src = debug_getinfo(level, "S")
        id = src and chunk_ids[src.source]
        if id then return id, info.currentline end
    end
    return "?", 0
end
api.where = where

-- A place is where an option or a list item was set, as one integer, so
-- that an assignment makes no table (mod.rs `Places` reads them back): the
-- line in the low 32 bits, the file's number in the 20 above, and the
-- layer's number (0: the file's own) in the 11 above those.
local file_names, file_numbers = {}, {}
local layer_names, layer_numbers = {}, {}
api.file_names, api.layer_names = file_names, layer_names
local function number_of(names, numbers, s, limit)
    local n = numbers[s]
    if not n then
        n = #names + 1
        if n >= limit then error("pfe cannot tell apart more than " .. (limit - 1) .. " files or layers", 0) end
        names[n] = s
        numbers[s] = n
    end
    return n
end
local function place(file, line, layer)
    local l = m_tointeger(line) or 0
    if l < 0 or l > 0xFFFFFFFF then l = 0 end
    local p = (number_of(file_names, file_numbers, file or "?", 1 << 20) << 32) | l
    if layer then p = p | (number_of(layer_names, layer_numbers, layer, 1 << 11) << 52) end
    return p
end

-- Lists remember the place that added each string item (for modules_enabled).
local list_origins = setmetatable({}, { __mode = "k" })
api.list_places = list_origins
local list_methods = {}
local list_mt = { __index = list_methods }
local function note_item(list, item, file, line)
    local origins = list_origins[list]
    if origins and type(item) == "string" and origins[item] == nil then
        origins[item] = place(file, line)
    end
end
function list_methods.append(self, values)
    if type(values) ~= "table" then
        error("'append' expects a list of values to append to the existing list", 2)
    end
    local file, line = where()
    if values[1] ~= nil then
        for _, v in ipairs(values) do
            self[#self + 1] = v
            note_item(self, v, file, line)
        end
    else
        for k, v in pairs(values) do self[k] = v end
    end
    return self
end
function list_methods.value(self) return self end
function list_methods.values(self)
    local i = 0
    return function() i = i + 1; return self[i] end
end
list_mt.__call = function(self, values) return list_methods.append(self, values) end

local safe_table = setmetatable({}, {
    __index = function(_, k)
        if k == "insert" then
            return function(t, ...)
                t_insert(t, ...)
                local item = select(select("#", ...), ...)
                local file, line = where()
                note_item(t, item, file, line)
            end
        end
        local v = table[k]
        if v == nil then error(s_format("table.%s is not available in pfe's sandbox", tostring(k)), 2) end
        return v
    end,
    __newindex = function(_, k) error(s_format("table is read-only in pfe's sandbox (tried to set table.%s)", tostring(k)), 2) end,
    __metatable = false,
})

local BUILTINS = {
    string = readonly(string, "string"),
    table = safe_table,
    math = readonly(math, "math"),
    utf8 = readonly(utf8, "utf8"),
    pairs = pairs, ipairs = ipairs, next = next, type = type,
    tostring = tostring, tonumber = tonumber, select = select,
    error = error, assert = assert,
}

local function new_state(opts)
    return {
        options = {}, history = {}, hosts = {}, host_index = {}, meta = {}, logs = {},
        meta_pure = {}, external = false,
        prosody = opts and opts.prosody or false,
        layer = "core",
        features = opts and opts.features or {},
        pfe = opts and opts.pfe or {},
        budget = opts and opts.budget or 20000000,
        per_byte = opts and opts.per_byte or 0,
        seconds = opts and opts.seconds or 1.0,
        bytes_per_second = opts and opts.bytes_per_second or math.huge,
        fatal = nil,
    }
end
api.new_state = new_state

local function options_of(state, scope)
    local t = state.options[scope]
    if not t then t = {}; state.options[scope] = t end
    return t
end

local function tracked_list(file, line, items)
    local list = setmetatable(items or {}, list_mt)
    list_origins[list] = list_origins[list] or {}
    for _, v in ipairs(list) do note_item(list, v, file, line) end
    return list
end

local function set_option(state, scope, key, value, file, line)
    if type(key) ~= "string" then
        error("option names must be strings", 3)
    end
    if type(value) == "function" and not state.prosody then
        error(s_format("option '%s' cannot hold a function: only strings, numbers, booleans and tables are config values", key), 3)
    end
    if type(value) == "table" and api.expr_text(value) == nil then
        if getmetatable(value) == nil then setmetatable(value, list_mt) end
        if key == "modules_enabled" or key == "modules_disabled" then
            list_origins[value] = list_origins[value] or {}
            for _, v in ipairs(value) do note_item(value, v, file, line) end
        end
    end
    options_of(state, scope)[key] = value
    local hist = state.history[scope]
    if not hist then hist = {}; state.history[scope] = hist end
    -- One place when the option is set once, a list of them when it is
    -- set again (mod.rs finish reads both).
    local p = place(file, line, state.layer or "")
    local h = hist[key]
    if h == nil then
        hist[key] = p
    elseif type(h) == "number" then
        hist[key] = { h, p }
    else
        h[#h + 1] = p
    end
end

function api.assign(state, scope, key, value, file, line)
    set_option(state, scope, key, value, file, line)
end

local function define_host(state, name, kind, file, line)
    local existing = state.host_index[name]
    if existing then
        if existing.kind ~= kind then
            error(s_format("%s %q clashes with the %s of the same name defined at %s:%d; use a sub-domain for services",
                kind, name, existing.kind, existing.file, existing.line), 3)
        end
        return existing
    end
    local opts = options_of(state, name)
    local hist = state.history[name]
    if not hist then hist = {}; state.history[name] = hist end
    -- mod.rs finish reads place, options and history (the layer of the
    -- place is none: defined_at has no layer).
    local h = { name = name, kind = kind, file = file, line = line,
        place = place(file, line, ""), options = opts, history = hist }
    state.hosts[#state.hosts + 1] = h
    state.host_index[name] = h
    if opts.modules_enabled == nil and not state.prosody then
        opts.modules_enabled = tracked_list(file, line)
    end
    return h
end

-- The kind of host `name` ("VirtualHost", "Component"), or nil.
function api.host_kind(state, name)
    local h = state.host_index[name]
    return h and h.kind
end

-- Defines the served VirtualHost so that options set for it (`--set
-- DOMAIN:KEY=VALUE`) are kept; the catalog itself never defines it.
function api.define_virtualhost(state, name, file, line)
    define_host(state, name, "VirtualHost", file, line)
end

-- Build the environment one config file runs in.
function api.new_env(state, file_id)
    local scope = "*"
    local meta = {}
    state.meta[file_id] = meta
    local env = {}

    local function log(level, fmt, ...)
        local file, line = where()
        local ok, msg = pcall(s_format, tostring(fmt), ...)
        if not ok then msg = tostring(fmt) end
        t_insert(state.logs, { level = tostring(level), message = msg, file = file, line = line })
    end

    local function scope_closer(name)
        return function(options)
            scope = "*"
            if type(options) == "table" then
                local file, line = where()
                for k, v in pairs(options) do set_option(state, name, k, v, file, line) end
            elseif options ~= nil then
                error(s_format("expected a table of options after the host name, got %s", type(options)), 2)
            end
        end
    end

    local specials = {
        log = log,
        print = function(...)
            local parts = t_pack(...)
            for i = 1, parts.n do parts[i] = tostring(parts[i]) end
            log("info", "%s", table.concat(parts, "\t", 1, parts.n))
        end,
        os = readonly({ getenv = function(name)
            if type(name) ~= "string" then error("os.getenv expects a variable name", 2) end
            state.external = true
            return host.getenv(name)
        end }, "os"),
        pfe = readonly({
            domain = state.pfe.domain,
            -- A fresh list per file: a file that changes it changes only its own.
            domains = { t_unpack(state.pfe.domains or { state.pfe.domain }) },
            profile = state.pfe.profile,
            environment = state.pfe.environment,
            feature = function(name) return state.features[name] == true end,
            -- A variable's value, or nil when it is unset or empty.
            env = function(name)
                if type(name) ~= "string" then error("pfe.env expects a variable name", 2) end
                local v = host.getenv(name)
                if v == nil or v == "" then return nil end
                return v
            end,
            -- A boolean variable: true/false, 1/0, yes/no, on/off; `default`
            -- when unset; anything else is an error naming the variable.
            flag = function(name, default)
                if type(name) ~= "string" then error("pfe.flag expects a variable name", 2) end
                local v = host.getenv(name)
                if v == nil or v == "" then return default end
                local b = FLAGS[s_lower(v)]
                if b == nil then
                    error(s_format("%s=%s is not a boolean: use true or false", name, v), 2)
                end
                return b
            end,
        }, "pfe", function() state.external = true end), -- reading pfe.* makes a file context-dependent
        pcall = function(f, ...)
            local r = t_pack(pcall(f, ...))
            if state.fatal then error(state.fatal, 0) end
            if r[1] == false and r[2] == "not enough memory" then error(r[2], 0) end
            return t_unpack(r, 1, r.n)
        end,
        Credential = function(name)
            if type(name) ~= "string" then error("Credential expects the credential's file name", 2) end
            return make_expr(s_format("Credential(%q)", name))
        end,
        FileContents = function(name) return make_expr(s_format("FileContents(%q)", tostring(name))) end,
        FileLine = function(name) return make_expr(s_format("FileLine(%q)", tostring(name))) end,
        FileLines = function(name) return make_expr(s_format("FileLines(%q)", tostring(name))) end,
        Include = function(path)
            if not host.include then
                error("Include is not used in pfe catalogs: profiles list features and pfe composes them", 2)
            end
            if type(path) ~= "string" then error("Include expects a file name or a glob pattern", 2) end
            local file, line = where()
            local list, err = host.include(path, file, line)
            if not list then error(err, 2) end
            for _, src in ipairs(list) do
                local chunk_name = "@" .. src.id
                local fn, cerr = load(src.text, chunk_name, "t", (api.new_env(state, src.id)))
                if not fn then error(cerr, 0) end
                api.exec(state, fn, src.id, chunk_name, false, #src.text, src.loop_free)
            end
        end,
        VirtualHost = function(name)
            if type(name) ~= "string" or name == "" then error("VirtualHost must have a name", 2) end
            local file, line = where()
            define_host(state, name, "VirtualHost", file, line)
            scope = name
            return scope_closer(name)
        end,
        Component = function(name)
            if type(name) ~= "string" or name == "" then error("Component must have a name", 2) end
            local file, line = where()
            local h = define_host(state, name, "Component", file, line)
            h.module = h.module or "component"
            scope = name
            return function(module)
                if type(module) == "string" then
                    h.module = module
                    return scope_closer(name)
                end
                return scope_closer(name)(module)
            end
        end,
    }
    specials.Host = specials.VirtualHost
    specials.include = specials.Include
    specials.component = specials.Component
    specials.Lua = readonly(setmetatable({ os = specials.os }, { __index = BUILTINS }), "Lua")

    setmetatable(env, {
        __index = function(_, k)
            local v = BUILTINS[k]
            if v ~= nil then return v end
            v = specials[k]
            if v ~= nil then return v end
            if META[k] then return meta[k] end
            if type(k) == "string" and s_sub(k, 1, 4) == "ENV_" then return make_expr(k) end
            local why = FORBIDDEN[k]
            if why then error(why, 2) end
            v = options_of(state, scope)[k]
            if v == nil and scope ~= "*" then v = options_of(state, "*")[k] end
            return v
        end,
        __newindex = function(_, k, v)
            if META[k] then
                meta[k] = v
                -- Metadata set before the file read anything outside itself
                -- (variables, pfe.*) is the same in every build: cacheable.
                state.meta_pure[file_id] = state.meta_pure[file_id] or {}
                state.meta_pure[file_id][k] = not state.external
                return
            end
            if k ~= "log" and (BUILTINS[k] ~= nil or specials[k] ~= nil) then
                error(s_format("'%s' is built into pfe's sandbox and cannot be assigned", tostring(k)), 2)
            end
            local file, line = where()
            set_option(state, scope, k, v, file, line)
        end,
        __metatable = false,
    })
    return env, meta
end


-- ---------------------------------------------------------------------------
-- Prosody mode: hand-written configs read exactly as Prosody 13's
-- configmanager reads them (core/configmanager.lua, parser.load).
--
-- * ENV_X is os.getenv("X"): a real string, or nil.
-- * `Lua` is Prosody's _G; a bare name that is neither an option of the
--   current section nor one of the directives falls back to _G (Prosody warns:
--   "direct usage of the Lua API is deprecated").
-- * Reading an option reads the current section only (no fallback to the
--   global section), as configmanager's rawget_option does.
-- * What pfe refuses to run (io, os.execute, require, RunScript, Prosody's
--   runtime tables) yields an "unknown" value instead of an error: every
--   operation on it gives another unknown, the file goes on, and the
--   construct is reported once.

local os_time, os_date, os_clock, os_difftime = os.time, os.date, os.clock, os.difftime
local rawequal, rawlen, lua_version = rawequal, rawlen, _VERSION
local unknown_mt = { __pfe_unknown = true, __metatable = false }
api.unknown_mt = unknown_mt -- mod.rs to_value tells an unknown value by it
local unknown_info = setmetatable({}, { __mode = "k" })
local function make_unknown(why, from_call)
    local u = setmetatable({}, unknown_mt)
    unknown_info[u] = { why = why, from_call = from_call }
    return u
end
local function is_unknown(v) return type(v) == "table" and unknown_info[v] ~= nil end
api.is_unknown = is_unknown
function api.unknown_why(v)
    local i = unknown_info[v]
    return i and i.why
end
local function why_of(...)
    for i = 1, select("#", ...) do
        local v = select(i, ...)
        if is_unknown(v) then return unknown_info[v].why end
    end
    return "unknown"
end
unknown_mt.__index = function(u, k)
    -- Integer keys give nil so that ipairs() and `#` loops over an unknown end.
    if type(k) == "number" then return nil end
    return make_unknown(unknown_info[u].why)
end
unknown_mt.__newindex = function() end
unknown_mt.__call = function(u, ...)
    -- An unknown produced by a call is treated as an exhausted iterator
    -- (`for x in s:gmatch(...)`) so that loops over it end.
    if unknown_info[u].from_call then return nil end
    return make_unknown(unknown_info[u].why, true)
end
local function unknown_op(a, b) return make_unknown(why_of(a, b)) end
for _, ev in ipairs({ "__add", "__sub", "__mul", "__div", "__mod", "__pow", "__unm",
    "__idiv", "__band", "__bor", "__bxor", "__shl", "__shr", "__bnot", "__concat", "__len" }) do
    unknown_mt[ev] = unknown_op
end
unknown_mt.__lt = function() return false end
unknown_mt.__le = function() return false end
unknown_mt.__tostring = function(u) return "<unknown: " .. unknown_info[u].why .. ">" end
unknown_mt.__pairs = function() return function() return nil end, nil, nil end

-- Names of Lua's and Prosody's globals that the config can reach through `Lua`.
local string_lib = readonly(string, "string")

function api.new_prosody_env(state, file_id)
    local scope = "*"
    local env = {}
    state.events = state.events or {}
    state.env_values = state.env_values or {}
    local reported = state.reported or {}
    state.reported = reported

    local function event(kind, name, extra)
        local file, line = where()
        local e = { kind = kind, name = name, file = file, line = line }
        if extra then for k, v in pairs(extra) do e[k] = v end end
        state.events[#state.events + 1] = e
        return e
    end
    -- A construct pfe does not run: one event per construct and line.
    local function refused(what, why)
        local file, line = where()
        local key = file .. ":" .. line .. ":" .. what
        if not reported[key] then
            reported[key] = true
            event("refused", what, { why = why })
        end
        return make_unknown(what)
    end
    local function refusing(what, why)
        return function() return refused(what, why) end
    end
    local function refused_lib(name, why, pure)
        return setmetatable({}, {
            __index = function(_, k)
                if pure and pure[k] then return pure[k] end
                local what = name .. "." .. tostring(k)
                return function() return refused(what, why) end
            end,
            __newindex = function() end,
            __metatable = false,
        })
    end

    local function log(level, fmt, ...)
        local file, line = where()
        local ok, msg = pcall(s_format, tostring(fmt), ...)
        if not ok then msg = tostring(fmt) end
        t_insert(state.logs, { level = tostring(level), message = msg, file = file, line = line })
    end

    local function getenv(name)
        if type(name) ~= "string" then return nil end
        local v = host.getenv(name)
        event("env", name, { value = v })
        if v ~= nil and v ~= "" then state.env_values[#state.env_values + 1] = { name = name, value = v } end
        return v
    end

    -- Prosody's _G as far as a config can use it without side effects.
    local G = {
        string = string_lib, table = safe_table, math = readonly(math, "math"),
        utf8 = readonly(utf8, "utf8"),
        pairs = pairs, ipairs = ipairs, next = next, type = type,
        tostring = tostring, tonumber = tonumber, select = select,
        error = error, assert = assert, rawequal = rawequal, rawlen = rawlen,
        print = function(...)
            local parts = t_pack(...)
            for i = 1, parts.n do parts[i] = tostring(parts[i]) end
            log("info", "%s", table.concat(parts, "\t", 1, parts.n))
        end,
        log = log,
        pcall = function(f, ...)
            local r = t_pack(pcall(f, ...))
            if state.fatal then error(state.fatal, 0) end
            if r[1] == false and r[2] == "not enough memory" then error(r[2], 0) end
            return t_unpack(r, 1, r.n)
        end,
        os = refused_lib("os", "changes or reads the machine's state", {
            getenv = getenv, time = os_time, date = os_date, clock = os_clock, difftime = os_difftime,
        }),
        io = refused_lib("io", "reads or writes files"),
        require = function(name) return refused("require " .. tostring(name), "loads Lua code") end,
        dofile = refusing("dofile", "runs another file"),
        loadfile = refusing("loadfile", "compiles another file"),
        load = refusing("load", "compiles code at run time"),
        loadstring = refusing("loadstring", "compiles code at run time"),
        collectgarbage = refusing("collectgarbage", "drives the garbage collector"),
        package = make_unknown("package"),
        debug = make_unknown("debug"),
        coroutine = make_unknown("coroutine"),
        prosody = make_unknown("prosody"),
        setmetatable = refusing("setmetatable", "changes how tables behave"),
        getmetatable = refusing("getmetatable", "inspects Lua internals"),
        rawset = refusing("rawset", "bypasses metatables"),
        rawget = refusing("rawget", "bypasses metatables"),
        _VERSION = lua_version,
    }
    G._G = G
    -- Reading Prosody's runtime tables is reported where it happens.
    local function g_get(k)
        local v = G[k]
        if k == "package" or k == "debug" or k == "coroutine" or k == "prosody" then
            return refused(k, "is Prosody's run-time state")
        end
        if v == nil and type(k) == "string" and s_match(k, "^CFG_") then
            return refused(k, "is set by Prosody's launcher")
        end
        return v
    end
    local LuaG = setmetatable({}, {
        __index = function(_, k) return g_get(k) end,
        __newindex = function(_, k) refused("Lua." .. tostring(k) .. " = ...", "changes Prosody's globals") end,
        __metatable = false,
    })

    local function scope_closer(name)
        return function(options)
            scope = "*"
            if type(options) == "string" then
                error(s_format("VirtualHost entries do not accept a module name (module '%s' provided for host '%s')", options, name), 2)
            elseif type(options) ~= "table" then
                error("Invalid syntax following VirtualHost, expected options but received a " .. type(options), 2)
            end
            local file, line = where()
            for k, v in pairs(options) do set_option(state, name, k, v, file, line) end
        end
    end
    local function host_name(name, what)
        if name == nil then error(what .. " must have a name", 3) end
        if is_unknown(name) then
            state.unknown_hosts = (state.unknown_hosts or 0) + 1
            local n = s_format("<unknown host %d>", state.unknown_hosts)
            event("unknown-host", n, { why = unknown_info[name].why })
            return n
        end
        if type(name) ~= "string" then
            if type(name) == "number" then name = tostring(name)
            else error(s_format("bad argument #1 to 'nameprep' (string expected, got %s)", type(name)), 3) end
        end
        return s_lower(name)
    end

    -- The names configmanager sets as raw fields of the environment.
    local directives = {
        VirtualHost = function(name)
            name = host_name(name, "Host")
            local file, line = where()
            define_host(state, name, "VirtualHost", file, line)
            scope = name
            return function(options)
                if is_unknown(options) then scope = "*"; return end
                return scope_closer(name)(options)
            end
        end,
        Component = function(name, extra)
            name = host_name(name, "Component")
            local file, line = where()
            local h = define_host(state, name, "Component", file, line)
            h.module = "component"
            if type(extra) == "string" then
                event("component-call-form", name, { module = extra })
            end
            scope = name
            return function(module)
                if type(module) == "string" then
                    h.module = module
                    return function(options)
                        scope = "*"
                        if type(options) ~= "table" then
                            error(s_format("attempt to index a %s value (local 'config_options')", type(options)), 2)
                        end
                        local f, l = where()
                        for k, v in pairs(options) do set_option(state, name, k, v, f, l) end
                    end
                end
                scope = "*"
                if type(module) ~= "table" then
                    error(s_format("bad argument #1 to 'for iterator' (table expected, got %s)", type(module)), 2)
                end
                local f, l = where()
                for k, v in pairs(module) do set_option(state, name, k, v, f, l) end
            end
        end,
        FileContents = function(name) return make_expr(s_format("FileContents(%q)", tostring(name))) end,
        FileLine = function(name) return make_expr(s_format("FileLine(%q)", tostring(name))) end,
        FileLines = function(name) return make_expr(s_format("FileLines(%q)", tostring(name))) end,
        Credential = function(name) return make_expr(s_format("Credential(%q)", tostring(name))) end,
        Include = function(path)
            if is_unknown(path) then refused("Include", "names a file pfe cannot compute"); return end
            if type(path) ~= "string" then error("bad argument #1 to 'match' (string expected, got " .. type(path) .. ")", 2) end
            local file, line = where()
            local list, err = host.include(path, file, line)
            if not list then error(err, 2) end
            for _, src in ipairs(list) do
                local chunk_name = "@" .. src.id
                local fn, cerr = load(src.text, chunk_name, "t", (api.new_prosody_env(state, src.id)))
                if not fn then error(cerr, 0) end
                api.exec(state, fn, src.id, chunk_name, false, #src.text, src.loop_free)
            end
        end,
        RunScript = refusing("RunScript", "runs another Lua file"),
    }
    directives.Host, directives.host = directives.VirtualHost, directives.VirtualHost
    directives.component = directives.Component
    directives.include = directives.Include

    setmetatable(env, {
        __index = function(_, k)
            local v = directives[k]
            if v ~= nil then return v end
            if type(k) == "string" and s_sub(k, 1, 4) == "ENV_" then return getenv(s_sub(k, 5)) end
            if k == "Lua" then return LuaG end
            v = options_of(state, scope)[k]
            if v ~= nil then return v end
            local g = G[k]
            if g ~= nil then
                event("lua-api", tostring(k))
                return g_get(k)
            end
            if type(k) == "string" then event("nil-name", k, { scope = scope }) end
            return nil
        end,
        __newindex = function(_, k, v)
            if directives[k] ~= nil then
                -- A raw field of configmanager's environment: plain assignment.
                directives[k] = v
                return
            end
            local file, line = where()
            set_option(state, scope, k, v, file, line)
        end,
        __metatable = false,
    })
    return env, {}
end

-- Run one compiled config chunk with the instruction and time limits on;
-- returns the file's metadata tables, whether global or `local`.
-- `size` (bytes of the file's text) raises the limits: a long file of
-- plain assignments is not an endless loop.
function api.exec(state, fn, file_id, source, want_meta, size, loop_free)
    chunk_ids[source] = file_id
    chunk_fns[fn] = file_id
    local captured = {}
    size = size or 0
    local limit = state.budget + state.per_byte * size
    local seconds = state.seconds + size / state.bytes_per_second
    local budget = limit
    local deadline = clock() + seconds
    local function hook(event)
        if event == "count" then
            budget = budget - 1000
            if budget <= 0 or clock() > deadline then
                -- The line of the config that was running, not of the
                -- prelude function it called.
                local _, line = where()
                state.fatal = s_format("%s:%d: this file ran too long and was stopped (more than %d instructions or %.1f s): look for an endless loop",
                    file_id, line, limit, seconds)
                error(state.fatal, 0)
            end
        elseif event == "return" then
            local info = debug_getinfo(2, "f")
            if info and info.func == fn then
                local i = 1
                while true do
                    local name, value = debug_getlocal(2, i)
                    if not name then break end
                    if META[name] then captured[name] = value end
                    i = i + 1
                end
            end
        end
    end
    state.fatal = nil
    state.external = false
    -- An Included file runs inside its includer: restore the includer's hook.
    local prev_hook, prev_mask, prev_count = debug_gethook()
    -- The return hook reads `local feature_info` & co.; layers skip it.
    -- A loop-free file (mod.rs loop_free) runs each instruction at most
    -- once: it needs no count hook, which costs a check per instruction.
    if want_meta or not loop_free then
        debug_sethook(hook, want_meta and "r" or "", 1000)
    else
        debug_sethook()
    end
    local ok, err = pcall(fn)
    if prev_hook then debug_sethook(prev_hook, prev_mask, prev_count) else debug_sethook() end
    if not ok then
        if state.fatal then error(state.fatal, 0) end
        error(err, 0)
    end
    local meta = state.meta[file_id] or {}
    for k, v in pairs(captured) do
        if meta[k] == nil then meta[k] = v end
    end
    local pure = {}
    for k, p in pairs(state.meta_pure[file_id] or {}) do
        if p and captured[k] == nil then pure[#pure + 1] = k end
    end
    return meta, pure
end

function api.set_layer(state, layer) state.layer = layer end
function api.set_pfe(state, pfe) state.pfe = pfe end
function api.set_features(state, list)
    local set = {}
    for _, name in ipairs(list) do set[name] = true end
    state.features = set
end

return api

-- Loads a generated prosody.cfg.lua through Prosody's own configmanager,
-- with nothing of Lua in reach, and prints what it defined.
--
-- Usage: lua5.4 configcheck.lua CONFIG [HOSTHEX...]
--
-- Output (stdout), one item per line, strings as lowercase hex:
--   nameprep <hex in> <hex out | ->   for each HOSTHEX argument
--   opt <host hex> <name hex> <value> for every option of every host
--   ok
-- Values: s<hex> string, i<n> integer, f<%.17g> float, b1/b0 boolean,
-- t{<key>=<value>;...} table (entries sorted), x<type> anything else.
--
-- Before the config is loaded every global is removed, so a config that
-- reaches `Lua.os`, `Lua.io`, `require`, `load`, `dofile` or anything else
-- of Lua's finds nothing. `Lua` (Prosody hands it _G) and any read of a
-- missing global through it trip a trap: "TRAPPED <name>" on stderr, exit 3.
-- A config that fails to load: "LOADERR <message>" on stderr, exit 4.

package.path = "/usr/lib/prosody/?.lua;" .. package.path
package.cpath = "/usr/lib/prosody/?.so;" .. package.cpath
if not pcall(require, "prosody.loader") then require "loader" end

local configmanager = require "prosody.core.configmanager"
local nameprep = require "prosody.util.encodings".stringprep.nameprep

local pairs, type, tostring, select = pairs, type, tostring, select
local m_type, s_format, s_byte, s_char, s_gsub = math.type, string.format, string.byte, string.char, string.gsub
local t_sort, t_concat = table.sort, table.concat
local stdout, stderr, exit = io.stdout, io.stderr, os.exit
local setmetatable, rawset = setmetatable, rawset
local args = { ... }

local function hex(s)
    return (s_gsub(s, ".", function(c) return s_format("%02x", s_byte(c)) end))
end
local function unhex(h)
    return (s_gsub(h, "%x%x", function(b) return s_char(tonumber(b, 16)) end))
end

local function canon(v)
    local t = type(v)
    if t == "string" then return "s" .. hex(v) end
    if t == "boolean" then return v and "b1" or "b0" end
    if t == "number" then
        if m_type(v) == "integer" then return "i" .. tostring(v) end
        return "f" .. s_format("%.17g", v)
    end
    if t == "table" then
        local items = {}
        for k, x in pairs(v) do items[#items + 1] = canon(k) .. "=" .. canon(x) end
        t_sort(items)
        return "t{" .. t_concat(items, ";") .. "}"
    end
    return "x" .. t
end

local out = {}
for i = 2, #args do
    local p = nameprep(unhex(args[i]))
    out[#out + 1] = "nameprep " .. args[i] .. " " .. (p and hex(p) or "-")
end

-- Nothing of Lua from here on.
local function trap(name)
    stderr:write("TRAPPED ", tostring(name), "\n")
    stderr:flush()
    exit(3, true)
end
local G = _G
local names = {}
for k in pairs(G) do names[#names + 1] = k end
for _, k in pairs(names) do G[k] = nil end
setmetatable(G, {
    __index = function(_, k) trap(k) end,
    __newindex = function(_, k) trap("set " .. tostring(k)) end,
})

local ok, kind, err = configmanager.load(args[1], "lua")
if not ok then
    stderr:write("LOADERR ", tostring(kind), ": ", tostring(err), "\n")
    exit(4, true)
end
for host, options in pairs(configmanager.getconfig()) do
    for name, value in pairs(options) do
        out[#out + 1] = "opt " .. hex(host) .. " " .. hex(name) .. " " .. canon(value)
    end
end
out[#out + 1] = "ok"
stdout:write(t_concat(out, "\n"), "\n")
stdout:flush()
exit(0, true)

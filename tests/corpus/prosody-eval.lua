-- Evaluate a Prosody config file with Prosody 13's own configmanager, set up
-- the way prosodyctl sets it up, and print what configmanager ended up
-- holding as canonical JSON on stdout.
--
-- Usage: lua5.4 prosody-eval.lua [--pretty] [--set KEY=VALUE]... [--set-lines KEY=FILE]...
--                                 [--alias DIR=NAME]... CONFIG
--
-- ENV_* names in the config read the process environment (configmanager calls
-- os.getenv), so run this under the environment the config should see.
-- --set adds a top-level string field to the output (regen-expected.sh uses it
-- to record prosodyctl's verdict next to the evaluation); --set-lines adds a
-- top-level array of the lines of FILE. --pretty indents the output. --alias replaces
-- every occurrence of the literal text DIR in output strings by NAME, so that
-- a config evaluated through its absolute path gives output that does not
-- depend on where the checkout lives.
--
-- The output format is documented in README.md next to this file.

local SOURCEDIR = os.getenv("PROSODY_SOURCEDIR") or "/usr/lib/prosody"

-- What /usr/bin/prosodyctl defines before it loads anything.
CFG_SOURCEDIR = SOURCEDIR
CFG_CONFIGDIR = "/etc/prosody"
CFG_PLUGINDIR = SOURCEDIR .. "/modules/"
CFG_DATADIR = "/var/lib/prosody"

-- prosodyctl's package.path handling: Prosody's tree first, relative entries
-- dropped.
do
	local function is_relative(path)
		return path:sub(1, 1) ~= "/"
	end
	local function drop_relative(entry)
		if is_relative(entry) then return "" end
	end
	local function sanitise(paths)
		return (paths:gsub("[^;]+;?", drop_relative):gsub(";;+", ";"))
	end
	package.path = sanitise(SOURCEDIR .. "/?.lua;" .. package.path)
	package.cpath = sanitise(SOURCEDIR .. "/?.so;" .. package.cpath)
end
if not pcall(require, "prosody.loader") then
	pcall(require, "loader")
end

-- Arguments.
local extra_fields = {}
local extra_lines = {}
local aliases = {}
local pretty = false
local filename
do
	local argv = { ... }
	local i = 1
	while i <= #argv do
		local a = argv[i]
		if a == "--set" then
			local kv = argv[i + 1] or ""
			local k, v = kv:match("^([^=]+)=(.*)$")
			if not k then
				io.stderr:write("prosody-eval: --set needs KEY=VALUE\n")
				os.exit(2)
			end
			extra_fields[k] = v
			i = i + 2
		elseif a == "--pretty" then
			pretty = true
			i = i + 1
		elseif a == "--set-lines" then
			local kv = argv[i + 1] or ""
			local k, v = kv:match("^([^=]+)=(.*)$")
			if not k then
				io.stderr:write("prosody-eval: --set-lines needs KEY=FILE\n")
				os.exit(2)
			end
			local lines = {}
			local fh = io.open(v)
			if fh then
				for line in fh:lines() do lines[#lines + 1] = line end
				fh:close()
			end
			extra_lines[k] = lines
			i = i + 2
		elseif a == "--alias" then
			local kv = argv[i + 1] or ""
			local k, v = kv:match("^([^=]+)=(.*)$")
			if not k then
				io.stderr:write("prosody-eval: --alias needs DIR=NAME\n")
				os.exit(2)
			end
			aliases[#aliases + 1] = { k, v }
			i = i + 2
		elseif filename == nil then
			filename = a
			i = i + 1
		else
			io.stderr:write("prosody-eval: one config file only\n")
			os.exit(2)
		end
	end
	if not filename then
		io.stderr:write("usage: lua5.4 prosody-eval.lua [--set KEY=VALUE]... [--alias DIR=NAME]... CONFIG\n")
		os.exit(2)
	end
end

-- The global state prosodyctl has when it reads the config
-- (util/startup.lua: startup.prosodyctl() runs parse_args, init_global_state,
-- then read_config).
local startup = require "prosody.util.startup"
local configmanager = require "prosody.core.configmanager"
local errors = require "prosody.util.error"

startup.init_global_state()
local prosody = _G.prosody
prosody.process_type = "prosodyctl"
prosody.opts = { config = filename }

-- startup.read_config(): the --config argument as given, else CFG_CONFIGDIR
-- joined with it; the first one that opens wins.
do
	local candidates = { filename, CFG_CONFIGDIR .. "/" .. filename }
	for _, candidate in ipairs(candidates) do
		local f = io.open(candidate)
		if f then
			f:close()
			filename = candidate
			prosody.paths.config = candidate:match("^(.*)[\\/][^\\/]*$")
			CFG_CONFIGDIR = prosody.paths.config
			break
		end
	end
	prosody.config_file = filename
	local credentials_directory = os.getenv("CREDENTIALS_DIRECTORY")
	if credentials_directory then
		configmanager.set_credentials_directory(credentials_directory)
	else
		-- prosodyctl (not prosody) only warns about Credential() without
		-- $CREDENTIALS_DIRECTORY
		configmanager.set_credential_fallback_mode("warn")
	end
end

local ok, err_kind, result = configmanager.load(filename)

------------------------------------------------------------------------
-- Canonical JSON

local m_type, s_format, s_byte = math.type, string.format, string.byte
local t_sort, t_concat = table.sort, table.concat

local function apply_aliases(s)
	for _, a in ipairs(aliases) do
		local from, to = a[1], a[2]
		local parts, pos = {}, 1
		while true do
			local i, j = s:find(from, pos, true)
			if not i then break end
			parts[#parts + 1] = s:sub(pos, i - 1)
			parts[#parts + 1] = to
			pos = j + 1
		end
		parts[#parts + 1] = s:sub(pos)
		s = table.concat(parts)
	end
	return s
end

local function json_string(s)
	s = apply_aliases(s)
	local valid_utf8 = utf8.len(s) ~= nil
	local out = s:gsub('[%c"\\\128-\255]', function(c)
		if c == '"' then return '\\"' end
		if c == "\\" then return "\\\\" end
		if c == "\n" then return "\\n" end
		if c == "\t" then return "\\t" end
		if c == "\r" then return "\\r" end
		local b = s_byte(c)
		if b >= 128 then
			if valid_utf8 then return c end
			return s_format("\\u%04x", b)
		end
		return s_format("\\u%04x", b)
	end)
	return '"' .. out .. '"'
end

local function json_number(n)
	if m_type(n) == "integer" then
		return tostring(n)
	end
	if n ~= n then return '{"$kind":"number","value":"nan"}' end
	if n == math.huge then return '{"$kind":"number","value":"inf"}' end
	if n == -math.huge then return '{"$kind":"number","value":"-inf"}' end
	local s = s_format("%.17g", n)
	if not s:find("[%.eE]") then s = s .. ".0" end
	return s
end

-- Key of a non-array table, as a JSON object key.
local function key_string(k)
	local t = type(k)
	if t == "string" then return k end
	if t == "number" then
		if m_type(k) == "integer" then return "[" .. tostring(k) .. "]" end
		return "[" .. s_format("%.17g", k) .. "]"
	end
	if t == "boolean" then return "[" .. tostring(k) .. "]" end
	return "[" .. t .. "]"
end

local function is_array(t)
	local n = 0
	for k in pairs(t) do
		if m_type(k) ~= "integer" or k < 1 then return false end
		n = n + 1
	end
	for i = 1, n do
		if rawget(t, i) == nil then return false end
	end
	return true, n
end

local MAX_DEPTH = 32

local encode

local function encode_table(t, path, depth)
	if path[t] then return '{"$kind":"cycle"}' end
	if depth > MAX_DEPTH then return '{"$kind":"too-deep"}' end
	if errors.is_error(t) then
		local ctx = rawget(t, "context") or {}
		return "{" .. t_concat({
			'"$kind":"error"',
			'"context":{"filename":' .. encode(ctx.filename, path, depth + 1)
				.. ',"fileline":' .. encode(ctx.fileline, path, depth + 1) .. "}",
			'"text":' .. encode(rawget(t, "text"), path, depth + 1),
			'"type":' .. encode(rawget(t, "type"), path, depth + 1),
		}, ",") .. "}"
	end
	-- A reference to a table-valued option read back as a bare name gives one
	-- of configmanager's option proxies (config_option_proxy_mt), which hold
	-- the whole config table.
	if getmetatable(t) and rawget(t, "config_table") ~= nil and rawget(t, "option_name") ~= nil then
		return "{" .. t_concat({
			'"$kind":"option-proxy"',
			'"host":' .. encode(rawget(t, "host"), path, depth + 1),
			'"option":' .. encode(rawget(t, "option_name"), path, depth + 1),
		}, ",") .. "}"
	end
	path[t] = true
	local out
	local array, n = is_array(t)
	if array then
		local items = {}
		for i = 1, n do items[i] = encode(rawget(t, i), path, depth + 1) end
		out = "[" .. t_concat(items, ",") .. "]"
	else
		local entries, seen = {}, {}
		for k, v in next, t do
			local ks = key_string(k)
			if seen[ks] then ks = ks .. "#" .. type(k) end
			seen[ks] = true
			entries[#entries + 1] = { ks, v }
		end
		t_sort(entries, function(a, b) return a[1] < b[1] end)
		local items = {}
		for i, e in ipairs(entries) do
			items[i] = json_string(e[1]) .. ":" .. encode(e[2], path, depth + 1)
		end
		out = "{" .. t_concat(items, ",") .. "}"
	end
	path[t] = nil
	return out
end

function encode(v, path, depth)
	local t = type(v)
	if v == nil then return "null" end
	if t == "boolean" then return tostring(v) end
	if t == "number" then return json_number(v) end
	if t == "string" then return json_string(v) end
	if t == "table" then return encode_table(v, path or {}, depth or 0) end
	return '{"$kind":' .. json_string(t) .. "}"
end

local function object(fields)
	local keys = {}
	for k in pairs(fields) do keys[#keys + 1] = k end
	t_sort(keys)
	local items = {}
	for i, k in ipairs(keys) do
		items[i] = json_string(k) .. ":" .. fields[k]
	end
	return "{" .. t_concat(items, ",") .. "}"
end

------------------------------------------------------------------------
-- What configmanager holds

local config = configmanager.getconfig()
local global = rawget(config, "*") or {}

-- "own": what was set in that section (rawget on the host's table).
-- "effective": the host's table read through its metatable, i.e. the host's
-- value, else the global one (configmanager's host_mt), which is what
-- configmanager.get(host, key) returns (get() turns error values into nil).
-- An options map is always a JSON object, even when empty.
local function encode_options(options)
	local fields = {}
	for k, v in next, options do fields[key_string(k)] = encode(v) end
	return object(fields)
end

local hosts, components = {}, {}
for host, options in pairs(config) do
	local own, effective = {}, {}
	for k, v in next, options do
		own[k] = v
		effective[k] = v
	end
	if host ~= "*" then
		for k, v in next, global do
			if effective[k] == nil then effective[k] = v end
		end
		local cm = rawget(options, "component_module")
		if cm ~= nil then components[host] = encode(cm) end
	end
	hosts[host] = object({ own = encode_options(own), effective = encode_options(effective) })
end

local files = {}
for i, f in ipairs(configmanager.files()) do files[i] = f end

local fields = {
	loads = ok and "true" or "false",
	hosts = object(hosts),
	components = object(components),
	files = encode(files),
}
if ok then
	fields.warnings = encode(result or {})
else
	fields.error = encode(tostring(result))
	fields.error_kind = encode(err_kind)
	fields.warnings = "[]"
end
for k, v in pairs(extra_fields) do
	fields[k] = json_string(v)
end
for k, v in pairs(extra_lines) do
	fields[k] = encode(v)
end

-- Indent canonical JSON: a newline and two spaces per level after "{", "["
-- and ",", before "}" and "]"; empty {} and [] stay on one line; ":" gets a
-- space after it. Strings are copied untouched.
local function indent(json)
	local out, depth, i, n = {}, 0, 1, #json
	local function nl() out[#out + 1] = "\n" .. string.rep("  ", depth) end
	while i <= n do
		local c = json:sub(i, i)
		if c == '"' then
			local j = i + 1
			while true do
				local d = json:sub(j, j)
				if d == "\\" then j = j + 2
				elseif d == '"' then break
				else j = j + 1 end
			end
			out[#out + 1] = json:sub(i, j)
			i = j + 1
		elseif c == "{" or c == "[" then
			local close = c == "{" and "}" or "]"
			if json:sub(i + 1, i + 1) == close then
				out[#out + 1] = c .. close
				i = i + 2
			else
				out[#out + 1] = c
				depth = depth + 1
				nl()
				i = i + 1
			end
		elseif c == "}" or c == "]" then
			depth = depth - 1
			nl()
			out[#out + 1] = c
			i = i + 1
		elseif c == "," then
			out[#out + 1] = ","
			nl()
			i = i + 1
		elseif c == ":" then
			out[#out + 1] = ": "
			i = i + 1
		else
			out[#out + 1] = c
			i = i + 1
		end
	end
	return table.concat(out)
end

local text = object(fields)
if pretty then text = indent(text) end
io.stdout:write(text, "\n")
io.stdout:flush()
os.exit(0, true)

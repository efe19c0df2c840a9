-- Reduce the output of `prosodyctl check config` to a deterministic report.
--
-- Usage: lua5.4 prosodyctl-report.lua EXIT_STATUS < output
--
-- Prints the verdict on the first line ("ok" when prosodyctl exited 0,
-- otherwise the first line of the first problem), then the report: the
-- check's paragraphs with leading blanks trimmed, separated by empty lines.
--
-- prosodyctl iterates Lua tables and sets with pairs(), and Lua 5.4 seeds its
-- string hashes per process, so the order of some items changes from run to
-- run. The report puts those back in a fixed order:
--  * items inside {...} (a set printed with tostring) and after
--    "following option(s): " are sorted;
--  * the "'name' -- instead, ..." lines of the deprecated-options paragraph
--    are sorted;
--  * adjacent paragraphs printed by the same per-host or per-module loop
--    (misplaced options, module-name mistakes, module-list type errors) are
--    sorted by their text.
-- Log lines ("certmanager error ..." and the configuration warnings, which
-- prosody-eval.lua records itself), the list of loaded files, "Done." and the
-- final summary line are left out.

local rc = tonumber(arg[1] or "") or 0
local lines = {}
for line in io.stdin:lines() do lines[#lines + 1] = line end

local function is_log(line)
	return line:match("^[^ \t]+ +debug\t") or line:match("^[^ \t]+ +info\t")
		or line:match("^[^ \t]+ +warn\t") or line:match("^[^ \t]+ +error\t")
end

-- The check's body, or everything when prosodyctl stopped before the check.
local body, start = {}, nil
for i, line in ipairs(lines) do
	if line == "Checking config..." then start = i break end
end
local from, to = 1, #lines
if start then
	from = start + 1
	for i = from, #lines do
		if lines[i] == "Done." then to = i - 1 break end
	end
end
for i = from, to do
	local line = lines[i]
	if not is_log(line)
		and not line:match("^    The following configuration files have been loaded:")
		and not line:match("^      %-  ")
		and not (not start and (line:match("^Problems found") or line:match("^All checks passed"))) then
		body[#body + 1] = line
	end
end

-- Paragraphs.
local paragraphs, current = {}, nil
for _, line in ipairs(body) do
	if line:match("^%s*$") then
		current = nil
	else
		if not current then
			current = {}
			paragraphs[#paragraphs + 1] = current
		end
		current[#current + 1] = (line:gsub("^%s+", ""))
	end
end

local function sort_items(list_text)
	local items = {}
	for item in (list_text .. ", "):gmatch("(.-), ") do items[#items + 1] = item end
	table.sort(items)
	return table.concat(items, ", ")
end

local function canon_line(line)
	line = line:gsub("(%b{})", function(set)
		return "{" .. sort_items(set:sub(2, -2)) .. "}"
	end)
	line = line:gsub("^(You need to move the following options?: )(.*)$", function(head, rest)
		return head .. sort_items(rest)
	end)
	return line
end

-- The misplaced-options message has a blank line inside it: keep its
-- "You need to move ..." part with the paragraph that names the host.
do
	local merged = {}
	for _, p in ipairs(paragraphs) do
		local prev = merged[#merged]
		if prev and p[1]:match("^You need to move the following options?: ") then
			prev[#prev + 1] = ""
			for _, line in ipairs(p) do prev[#prev + 1] = line end
		else
			merged[#merged + 1] = p
		end
	end
	paragraphs = merged
end

for _, p in ipairs(paragraphs) do
	for i, line in ipairs(p) do p[i] = canon_line(line) end
	if p[1] == "You have some deprecated options in the global section:" then
		local items = {}
		for i = 2, #p do items[#items + 1] = p[i] end
		table.sort(items)
		for i, item in ipairs(items) do p[i + 1] = item end
	end
end

-- Paragraphs printed by loops over pairs(), one paragraph per host/module.
local loop_templates = {
	"^You have %d+ options? set under ",
	"^Modules in modules_enabled should not have the 'mod_' prefix included%.",
	"^Authentication modules should not be added to modules_enabled,",
	"^storage modules should not be added to modules_enabled,",
	"^The modules_enabled in the ",
	"^The modules_disabled in the ",
}
local function template_of(p)
	for i, t in ipairs(loop_templates) do
		if p[1]:match(t) then return i end
	end
end
local function text_of(p) return table.concat(p, "\n") end
do
	local i = 1
	while i <= #paragraphs do
		local t = template_of(paragraphs[i])
		local j = i
		if t then
			while j + 1 <= #paragraphs and template_of(paragraphs[j + 1]) == t do j = j + 1 end
			local run = {}
			for k = i, j do run[#run + 1] = paragraphs[k] end
			table.sort(run, function(a, b) return text_of(a) < text_of(b) end)
			for k = i, j do paragraphs[k] = run[k - i + 1] end
		end
		i = j + 1
	end
end

local verdict
if rc == 0 then
	verdict = "ok"
elseif paragraphs[1] then
	verdict = paragraphs[1][1]
	-- a config that does not load: the "Error..." line says why
	if verdict:match("^%*+$") or verdict:match("^A problem occurred") then
		for _, p in ipairs(paragraphs) do
			for _, line in ipairs(p) do
				if line:match("^Error") then verdict = line break end
			end
			if verdict:match("^Error") then break end
		end
	end
else
	verdict = "exit status " .. rc
end

local out = { verdict }
for i, p in ipairs(paragraphs) do
	if i > 1 then out[#out + 1] = "" end
	for _, line in ipairs(p) do out[#out + 1] = line end
end
io.stdout:write(table.concat(out, "\n"), "\n")

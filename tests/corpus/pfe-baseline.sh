#!/bin/bash
# Record what a pfe binary reports for every corpus config.
#
# Usage: tests/corpus/pfe-baseline.sh [PFE_BINARY]   (default: target/debug/pfe
#        of the checkout this script is in)
#
# Each config is linted from a copy of configs/ in a temporary directory,
# under the environment of its MANIFEST.tsv row only (env -i plus PATH), with
# `pfe lint --json`. The raw JSON goes to pfe-baseline/ID.json (the temporary
# directory written as $CONFIGS) and one line per finding to pfe-baseline.tsv:
#   id  loaded  code  severity  host  line  subject  message
# "loaded" is no when pfe reported PFE014 (config-error), else yes; a config
# without findings gets one line with code "-". "subject" is the first
# 'quoted' name in the message, or mod_NAME for module findings.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
pfe=${1:-$(cd "$here/../.." && pwd)/target/debug/pfe}

tmp=$(mktemp -d /tmp/pXXXXXX)
trap 'rm -rf "$tmp"' EXIT
cp -a "$here/configs/." "$tmp/"

mkdir -p "$here/pfe-baseline"
out="$here/pfe-baseline.tsv"
printf 'id\tloaded\tcode\tseverity\thost\tline\tsubject\tmessage\n' > "$out"

tail -n +2 "$here/MANIFEST.tsv" | while IFS=$'\t' read -r id repo path commit licence era envspec notes; do
	envargs=(PATH=/usr/bin:/bin)
	if [ "$envspec" != "-" ]; then
		IFS=';' read -r -a pairs <<< "$envspec"
		envargs+=("${pairs[@]}")
	fi
	set +e
	(cd "$tmp" && env -i "${envargs[@]}" "$pfe" lint --json "$tmp/$id.cfg.lua") > "$here/pfe-baseline/$id.json.raw" 2>/dev/null
	set -e
	# the temporary directory is named $CONFIGS in what is kept
	T="$tmp" lua5.4 -e '
		local from, to = os.getenv("T"), "$CONFIGS"
		local s = io.read("a")
		local parts, pos = {}, 1
		while true do
			local i, j = s:find(from, pos, true)
			if not i then break end
			parts[#parts + 1] = s:sub(pos, i - 1); parts[#parts + 1] = to; pos = j + 1
		end
		parts[#parts + 1] = s:sub(pos)
		io.write(table.concat(parts))
	' < "$here/pfe-baseline/$id.json.raw" > "$here/pfe-baseline/$id.json"
	rm -f "$here/pfe-baseline/$id.json.raw"
	jq -r --arg id "$id" '
		def subject:
			(.message | capture("(?<m>mod_[A-Za-z0-9_]+)") // null) as $mod
			| (.message | capture("\u0027(?<q>[^\u0027]+)\u0027") // null) as $q
			| if (.name | test("module")) and $mod then $mod.m
			  elif $q then $q.q elif $mod then $mod.m else "-" end;
		(if any(.findings[]?; .code == "PFE014") then "no" else "yes" end) as $loaded
		| if (.findings | length) == 0 then [$id, $loaded, "-", "-", "-", "-", "-", "-"]
		  else (.findings[] | [$id, $loaded, .code, .severity, (.host // "-"),
			((.line // "-") | tostring), subject, (.message | gsub("[\t\n]"; " "))])
		  end
		| @tsv' "$here/pfe-baseline/$id.json" >> "$out"
done

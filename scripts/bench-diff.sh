#!/usr/bin/env bash
# `pfe diff` of two 1000-host configs (1000 VirtualHosts with options and
# modules of their own, 1000 Components), timed with hyperfine. The second
# file is the first written differently (modules_enabled reversed, periods
# in seconds, hosts in reverse order) with a change on every tenth host, so
# the diff has work to do and ~300 differences to report.
#
# Target of the issue: under 100 ms (mean); exits 1 when it is missed.
# Prints the figure on standard output.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { echo "hyperfine is not installed: run scripts/install-deps.sh" >&2; exit 2; }
cargo build --release --locked -q
PFE=${CARGO_TARGET_DIR:-$PWD/target}/release/pfe
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
N=${BENCH_DIFF_HOSTS:-1000}

python3 - "$N" "$work/a.cfg.lua" "$work/b.cfg.lua" <<'EOF'
import sys
n, a, b = int(sys.argv[1]), sys.argv[2], sys.argv[3]
mods = ["roster", "saslauth", "tls", "dialback", "disco", "carbons", "pep", "private", "blocklist",
        "vcard4", "vcard_legacy", "version", "uptime", "time", "ping", "register", "mam", "csi_simple", "smacks"]
def config(variant):
    m = list(reversed(mods)) if variant else mods
    out = ['modules_enabled = { ' + ", ".join(f'"{x}"' for x in m) + ' }',
           'c2s_require_encryption = true', 's2s_secure_auth = true',
           'archive_expires_after = ' + ('604800' if variant else '"1w"')]
    hosts = range(n - 1, -1, -1) if variant else range(n)
    for i in hosts:
        weeks = 1 + i % 4
        if variant and i % 10 == 0:
            weeks += 1
        period = str(weeks * 604800) if variant else f'"{weeks}w"'
        out += [f'VirtualHost "host{i}.example.org"',
                f'\tc2s_require_encryption = {"true" if i % 2 else "false"}',
                f'\tmax_archive_query_results = {50 + i % 100}',
                f'\tarchive_expires_after = {period}',
                '\tmodules_enabled = { "http_file_share"' + (', "csi_battery_saver"' if variant and i % 10 == 1 else '') + ' }',
                f'\tadmins = {{ "admin@host{i}.example.org" }}']
    for i in hosts:
        out += [f'Component "muc{i}.example.org" "muc"',
                '\tmodules_enabled = { "muc_mam" }',
                f'\tmax_history_messages = {20 + i % 30 + (1 if variant and i % 10 == 2 else 0)}']
    return "\n".join(out) + "\n"
open(a, "w").write(config(False))
open(b, "w").write(config(True))
EOF

set +e
"$PFE" diff --json "$work/a.cfg.lua" "$work/b.cfg.lua" > "$work/out.json"
rc=$?
set -e
[ "$rc" = 1 ] || { echo "pfe diff exited $rc, expected 1 (different)" >&2; exit 1; }
count=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["differences"]))' "$work/out.json")
hyperfine -N --warmup 2 --runs 10 -i --export-json "$work/h.json" "$PFE diff $work/a.cfg.lua $work/b.cfg.lua" >/dev/null
mean=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][0]["mean"])' "$work/h.json")
python3 - "$mean" "$N" "$count" <<'EOF'
import sys
t, n, count = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
print(f"pfe diff  two configs of {n} VirtualHosts + {n} Components, {count} differences: {t*1000:.1f} ms (mean of 10)")
if t >= 0.100:
    print(f"MISSED: {t*1000:.0f} ms (target < 100 ms)"); sys.exit(1)
EOF

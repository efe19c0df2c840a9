#!/usr/bin/env bash
# Benchmarks pfe against its named baselines, in one run each, with hyperfine.
#   generate: `pfe generate standard production` (whole process) vs
#             `prosodyctl --config OUT check config` on its output, and vs
#             `pfe --version` (the process alone: target generate <= 3x).
# Prints mean times, the ratios, instruction counts (callgrind: stable on a
# loaded machine, unlike wall time) and pfe's peak RSS (GNU time).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh >/dev/null
. scripts/venv.sh
cargo build --release --locked -q
PFE=$PWD/target/release/pfe
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$PFE" generate standard production --set "data_path=\"$work\"" --set 'run_as_root=true' -o "$work/prosody.cfg.lua"

hyperfine -N --warmup 3 --runs 30 --export-json "$work/generate.json" \
  -n pfe-generate "$PFE generate standard production" \
  -n pfe-version "$PFE --version" \
  -n prosodyctl-check "prosodyctl --config $work/prosody.cfg.lua check config" >&2 || true

python3 - "$work/generate.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
p, c = r["pfe-generate"]["mean"], r["prosodyctl-check"]["mean"]
v = r["pfe-version"]["mean"]
print(f"generate: pfe {p*1000:.2f} ms, prosodyctl check config {c*1000:.2f} ms, ratio {c/p:.1f}x (target >= 20x)")
print(f"generate / --version: {p*1000:.2f} ms / {v*1000:.2f} ms = {p/v:.1f}x (target <= 3x)")
PY
instructions() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
gi=$(instructions "$PFE" generate standard production)
vi=$(instructions "$PFE" --version)
echo "generate / --version: $gi / $vi instructions = $(python3 -c "print(f'{$gi/$vi:.1f}')")x"
rss=$( { /usr/bin/time -f %M "$PFE" generate standard production >/dev/null; } 2>&1 | tail -n1 )
echo "generate: peak RSS ${rss} KiB (target <= 20480 KiB)"

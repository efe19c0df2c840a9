#!/usr/bin/env bash
# Benchmarks `pfe validate` against `prosodyctl check config`, in one run,
# with hyperfine, and counts the defects of tests/defects/ each catches.
#
#   speed: `pfe validate` (every profile × environment, one process) vs
#          `prosodyctl check config` on the 16 configs `pfe generate P E -o`
#          rendered for the same pairs (one prosodyctl per file, as a user
#          would run it); `pfe lint` on the same 16 files for a like-for-like
#          figure.
#   catch: every defect config of tests/defects/lint through `pfe lint` and
#          through `prosodyctl check config` (caught = non-zero exit or a
#          warning printed); every catalog tree of tests/defects/validate
#          through `pfe validate`, and its rendered config (when it renders)
#          through prosodyctl.
# Prints the figures on standard output.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh >/dev/null
. scripts/venv.sh
cargo build --release --locked -q
PFE=${CARGO_TARGET_DIR:-$PWD/target}/release/pfe
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# prosodyctl checks that the prosody user can read the config.
chmod 755 "$work"
mkdir -p "$work/configs/certs" "$work/data"
unset PFE_CONFIG_DIR

profiles=$("$PFE" list --json | python3 -c 'import json,sys; print(" ".join(p["id"] for p in json.load(sys.stdin)["profiles"]))')
envs=$("$PFE" list --json | python3 -c 'import json,sys; print(" ".join(e["id"] for e in json.load(sys.stdin)["environments"]))')
: >"$work/prosodyctl-all.sh"
: >"$work/lint-all.sh"
n=0
for p in $profiles; do
  for e in $envs; do
    f="$work/configs/$p.$e.cfg.lua"
    "$PFE" generate "$p" "$e" --set "data_path=\"$work/data\"" -o "$f" 2>/dev/null
    chmod 644 "$f"
    echo "prosodyctl --config $f check config >/dev/null 2>&1 || true" >>"$work/prosodyctl-all.sh"
    echo "$PFE lint $f >/dev/null || true" >>"$work/lint-all.sh"
    n=$((n + 1))
  done
done

hyperfine -N --warmup 2 --runs 10 --export-json "$work/validate.json" \
  -n pfe-validate "$PFE validate" \
  -n pfe-lint-rendered "bash $work/lint-all.sh" \
  -n prosodyctl-check-rendered "bash $work/prosodyctl-all.sh" >&2 || true

python3 - "$work/validate.json" "$n" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
n = sys.argv[2]
v = r["pfe-validate"]["mean"]
l = r["pfe-lint-rendered"]["mean"]
c = r["prosodyctl-check-rendered"]["mean"]
print(f"speed: {n} profile x environment pairs")
print(f"  pfe validate (all pairs, one process):      {v*1000:8.1f} ms")
print(f"  pfe lint on the {n} rendered configs:        {l*1000:8.1f} ms")
print(f"  prosodyctl check config on the same {n}:     {c*1000:8.1f} ms")
print(f"  ratio prosodyctl / pfe validate: {c/v:.1f}x; prosodyctl / pfe lint: {c/l:.1f}x")
PY

# prosodyctl: caught when it exits non-zero or prints anything but its
# boilerplate.
prosodyctl_catches() {
  local out code=0
  out=$(prosodyctl --config "$1" check config 2>&1) || code=$?
  if [ "$code" -ne 0 ]; then echo exit; return; fi
  if echo "$out" | grep -v -e '^\s*$' -e 'Checking config' -e 'configuration files have been loaded' \
      -e '^\s*-  ' -e 'missing features due to a lack' -e "prosodyctl check features" \
      -e '^Done' -e 'All checks passed' -e 'certmanager' | grep -q .; then
    echo warn
  else
    echo none
  fi
}

mkdir -p "$work/lint/certs" "$work/rendered/certs"
chmod 755 "$work/lint" "$work/rendered"
total=0; pfe_hits=0; pc_exit=0; pc_warn=0; rows=""
for f in tests/defects/lint/*.cfg.lua; do
  expect=$(head -n1 "$f" | sed 's/^-- expect://')
  [ -z "${expect// /}" ] && continue # clean cases
  total=$((total + 1))
  cp "$f" "$work/lint/"; chmod 644 "$work/lint/$(basename "$f")"
  got=$("$PFE" lint --json "$f" | python3 -c 'import json,sys; print(" ".join(sorted({x["code"] for x in json.load(sys.stdin)["findings"]})))' || true)
  [ -n "$got" ] && pfe_hits=$((pfe_hits + 1))
  pc=$(prosodyctl_catches "$work/lint/$(basename "$f")")
  [ "$pc" = exit ] && pc_exit=$((pc_exit + 1))
  [ "$pc" = warn ] && pc_warn=$((pc_warn + 1))
  rows+="    $(basename "$f" .cfg.lua): pfe [$got] prosodyctl [$pc]"$'\n'
done
echo "lint corpus: $total defect configs"
echo "  pfe lint catches $pfe_hits/$total"
echo "  prosodyctl check config catches $((pc_exit + pc_warn))/$total ($pc_exit by exit code, $pc_warn by a warning only)"
printf '%s' "$rows"

vtotal=0; vhits=0; vrendered=0; vpc=0; vrows=""
for d in tests/defects/validate/*/; do
  c=$(basename "$d")
  [ "${c#_}" != "$c" ] && continue
  [ -s "$d/EXPECT" ] || continue
  vtotal=$((vtotal + 1))
  tree="$work/tree-$c"; mkdir -p "$tree"
  cp -r tests/defects/validate/_base/. "$tree/"; cp -r "$d". "$tree/"; rm -f "$tree/EXPECT"
  got=$("$PFE" --config-dir "$tree" validate defect defect --json | python3 -c 'import json,sys; print(" ".join(sorted({x["code"] for r in json.load(sys.stdin)["results"] for x in r["findings"]})))' || true)
  [ -n "$got" ] && vhits=$((vhits + 1))
  out="$work/rendered/$c.cfg.lua"
  if "$PFE" --config-dir "$tree" generate defect defect --set "data_path=\"$work/data\"" -o "$out" 2>/dev/null; then
    chmod 644 "$out"
    vrendered=$((vrendered + 1))
    pc=$(prosodyctl_catches "$out")
    [ "$pc" != none ] && vpc=$((vpc + 1))
  else
    pc="not rendered"
  fi
  vrows+="    $c: pfe [$got] prosodyctl [$pc]"$'\n'
done
echo "validate corpus: $vtotal defect catalog trees"
echo "  pfe validate catches $vhits/$vtotal"
echo "  $vrendered render to a config; prosodyctl check config catches $vpc of those"
printf '%s' "$vrows"

#!/usr/bin/env bash
# How `pfe lint` scales with the number of hosts, beside
# `prosodyctl check config` on the same files.
#
# Each generated config has N VirtualHosts, every one with options of its
# own (c2s_require_encryption, max_history_messages, http_file_share_size_limit,
# modules_enabled, ...), and N Components, every one with its own
# modules_enabled. `pfe lint` is timed with hyperfine on N = 1000, 2000, 5000
# and 10000; prosodyctl needs minutes on the big files, so it runs once
# (`--runs 1`) on the 2000 + 2000 one (69 s there; 5000 + 5000 took 738 s on
# the shared 2-core machine; SCALE_PROSODYCTL_N to change it, 0 to skip it).
#
# Checks the targets of the issue and exits 1 when one is missed:
#   * 5000 + 5000 in under 300 ms (the median of 10 runs: on a shared
#     machine one slow run moves a mean of a few, and the machine's speed
#     can vary twofold within an hour);
#   * time(10000 + 10000) <= 6 × time(2000 + 2000);
#   * 20000 + 20000 lints at all (no PFE014: the instruction, time and
#     memory limits of an evaluation grow with the file, so a long file of
#     plain assignments is not taken for an endless loop).
# Prints the figures on standard output. With SCALE_ADVISORY=1 (what the
# test command uses: timings on a shared CI machine are not a test) a missed
# timing target is printed but does not fail; the 20000 check still does.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { echo "hyperfine is not installed: run scripts/install-deps.sh" >&2; exit 2; }
cargo build --release --locked -q
PFE=${CARGO_TARGET_DIR:-$PWD/target}/release/pfe
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
mkdir -p "$work/certs" "$work/data"

gen() { # N FILE
  python3 - "$1" "$2" "$work/data" <<'EOF'
import sys
n, path, data = int(sys.argv[1]), sys.argv[2], sys.argv[3]
out = [
    f'data_path = "{data}"',
    'modules_enabled = { "roster", "saslauth", "tls", "dialback", "disco", "carbons", "pep", "private", "blocklist", "vcard4", "vcard_legacy", "version", "uptime", "time", "ping", "register", "mam", "csi_simple", "smacks" }',
    'c2s_require_encryption = true',
    's2s_secure_auth = true',
    'authentication = "internal_hashed"',
    'archive_expires_after = "1w"',
]
for i in range(n):
    out += [
        f'VirtualHost "host{i}.example.org"',
        f'\tc2s_require_encryption = {"true" if i % 2 else "false"}',
        f'\tmax_archive_query_results = {50 + i % 100}',
        f'\tarchive_expires_after = "{1 + i % 4}w"',
        '\tmodules_enabled = { "http_file_share" }',
        f'\thttp_file_share_size_limit = {10485760 + i}',
        f'\tadmins = {{ "admin@host{i}.example.org" }}',
    ]
for i in range(n):
    out += [
        f'Component "muc{i}.example.org" "muc"',
        '\tmodules_enabled = { "muc_mam" }',
        f'\tmax_history_messages = {20 + i % 30}',
        f'\trestrict_room_creation = {"true" if i % 2 else "false"}',
    ]
open(path, "w").write("\n".join(out) + "\n")
EOF
}

declare -A med
for n in 1000 2000 5000 10000; do
  f="$work/scale-$n.cfg.lua"
  gen "$n" "$f"
  chmod 644 "$f"
  # exit 1 (findings) is fine: the run is timed, not judged
  hyperfine -N --warmup 2 --runs 10 -i --export-json "$work/h-$n.json" "$PFE lint $f" >/dev/null
  med[$n]=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][0]["median"])' "$work/h-$n.json")
  printf 'pfe lint          %5d VirtualHosts + %5d Components: %8.1f ms (median of 10)\n' "$n" "$n" "$(python3 -c "print(${med[$n]}*1000)")"
done

pn=${SCALE_PROSODYCTL_N:-2000}
if [ "$pn" != 0 ]; then
  f="$work/scale-$pn.cfg.lua"
  [ -f "$f" ] || gen "$pn" "$f"
  hyperfine -N --runs 1 -i --export-json "$work/p.json" "prosodyctl --config $f check config" >/dev/null
  p=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][0]["mean"])' "$work/p.json")
  printf 'prosodyctl check  %5d VirtualHosts + %5d Components: %8.1f s (one run)\n' "$pn" "$pn" "$p"
fi

f="$work/scale-20000.cfg.lua"
gen 20000 "$f"
chmod 644 "$f"
# exit 1 (findings) is expected; PFE014 (did not evaluate) is not
out=$("$PFE" lint "$f" 2>&1 || true)
if grep -q PFE014 <<<"$out"; then
  echo "FAILED: 20000 + 20000 was refused (PFE014):" >&2
  grep -A1 PFE014 <<<"$out" >&2
  exit 1
fi
echo "pfe lint          20000 VirtualHosts + 20000 Components: evaluated (no PFE014)"

python3 - "${med[2000]}" "${med[5000]}" "${med[10000]}" "${SCALE_ADVISORY:-0}" <<'EOF'
import sys
t2, t5, t10 = map(float, sys.argv[1:4])
advisory = sys.argv[4] == "1"
ratio = t10 / t2
ok = True
print(f"ratio 10000/2000: {ratio:.2f} (target <= 6; 5 is linear)")
if t5 >= 0.300:
    print(f"MISSED: 5000 + 5000 took {t5*1000:.0f} ms (target < 300 ms)"); ok = False
if ratio > 6:
    print(f"MISSED: 10000 + 10000 is {ratio:.2f} x 2000 + 2000 (target <= 6)"); ok = False
if not ok and advisory:
    print("(advisory: timing targets are reported, not enforced, with SCALE_ADVISORY=1)")
sys.exit(0 if ok or advisory else 1)
EOF

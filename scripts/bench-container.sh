#!/usr/bin/env bash
# Container figures (not part of .ci/run): image build time cold and warm,
# time from `podman run` to healthy (the image's own HEALTHCHECK), image size,
# and the memory of an idle standard container (podman stats).
#
#   scripts/bench-container.sh            # prints a Markdown table
#
# Cold: `--no-cache` and the build's cargo cache mounts emptied (the base
# images of scripts/container-images.sh are made first and not counted).
# Warm: the same build again, nothing changed (every layer from the cache).
# The container runs in
# its own network namespace (slirp4netns) with the image's default ports and a
# self-signed certificate. Every podman call uses --runtime runc.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh
podman() { command podman --runtime runc "$@"; }
image=localhost/pfe-bench:latest
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

bash scripts/container-images.sh

build() { podman build --format docker --network host -f docker/Dockerfile -t "$image" "$@" . > /tmp/pfe-bench-build.log 2>&1 \
  || { tail -n 30 /tmp/pfe-bench-build.log >&2; echo "bench-container: podman build failed" >&2; exit 1; }; }

# Cold: no layer cache, no cargo cache (buildah keeps cache mounts here).
# PFE_BENCH_COLD=0 skips it (it empties the cargo cache other builds reuse).
cold=skipped
if [ "${PFE_BENCH_COLD:-1}" != 0 ]; then
  rm -rf /var/tmp/buildah-cache /var/tmp/buildah-cache-"$(id -u)"
  t=$(now); build --no-cache; cold="$(since "$t") s"
fi
t=$(now); build; warm=$(since "$t")
size=$(podman image inspect --format '{{.Size}}' "$image" | awk '{ printf "%.0f MB", $1 / 1e6 }')

# run -> healthy, then idle memory.
work=$(mktemp -d)
name=pfe-bench-$$
cleanup() { podman rm -f -t 2 "$name" > /dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
python3 - "$work/certs" <<'PY'
import subprocess, sys, os
d = sys.argv[1]; os.makedirs(d)
names = "DNS:localhost,DNS:*.localhost,DNS:conference.localhost,DNS:upload.localhost,DNS:proxy.localhost"
subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-nodes", "-days", "2", "-subj", "/CN=localhost", "-addext", f"subjectAltName={names}",
                "-keyout", f"{d}/localhost.key", "-out", f"{d}/localhost.crt"],
               check=True, capture_output=True)
for f in os.listdir(d): os.chmod(os.path.join(d, f), 0o644)
os.chmod(d, 0o755)
PY
chmod 755 "$work"
t=$(now)
podman run -d --name "$name" --network slirp4netns -v "$work/certs:/etc/prosody/certs:ro" \
  -e PROSODY_DOMAIN=localhost -e PROSODY_ANTISPAM_RTBL=none "$image" > /dev/null
healthy=
for _ in $(seq 1 600); do
  if podman healthcheck run "$name" > /dev/null 2>&1; then healthy=$(since "$t"); break; fi
  [ "$(podman inspect --format '{{.State.Running}}' "$name")" = true ] \
    || { podman logs "$name" >&2; echo "bench-container: the container stopped" >&2; exit 1; }
  sleep 0.2
done
[ -n "$healthy" ] || { podman logs "$name" >&2; echo "bench-container: not healthy within 120 s" >&2; exit 1; }
sleep 20
mem=$(podman stats --no-stream --format '{{.MemUsage}}' "$name" | awk -F' / ' '{print $1}')

cat <<EOF
| container figure (podman 4.3, runc, $(nproc) cores) | value |
|---|---|
| image build, cold (--no-cache, empty cargo cache) | ${cold} |
| image build, warm (nothing changed) | ${warm} s |
| image size | ${size} |
| podman run → healthy (HEALTHCHECK via podman healthcheck run) | ${healthy} s |
| idle memory, standard production container (podman stats, 20 s after healthy) | ${mem} |
EOF

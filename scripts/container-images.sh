#!/usr/bin/env bash
# Makes the base images docker/Dockerfile names, under their exact names, from
# local parts only (Docker Hub is unreachable from CI):
#
#   debian:bookworm-slim    Debian 12 from `debootstrap --variant=minbase`,
#                           imported with `podman import`
#   rust:R-slim-bookworm    that image + gcc/libc6-dev/ca-certificates from
#                           Debian + this machine's own Rust toolchain (the one
#                           `rustc --version` reports, with cargo); R is read
#                           from docker/Dockerfile's `FROM rust:...` line and
#                           must match the toolchain's major.minor.
#   postgres:15             debian:bookworm-slim + Debian 12's PostgreSQL 15,
#                           the database `pfe compose` names, for the compose
#                           test (tests/container/postgres.*)
#
# Where HTTPS goes through an intercepting proxy, the builder trusts the CA
# certificates in /usr/local/share/ca-certificates/*.crt (cargo fetches from
# crates.io inside the build).
#
# Idempotent: an image that already exists is kept (PFE_REBUILD_BASE=1 makes
# them again). Every podman call uses --runtime runc. Needs root, podman and
# debootstrap (scripts/install-deps.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."

podman() { command podman --runtime runc "$@"; }
say() { echo "container-images: $*" >&2; }
die() { say "$*"; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (debootstrap and rootful podman)"
command -v debootstrap >/dev/null || die "debootstrap is not installed (run scripts/install-deps.sh)"
command -v podman >/dev/null || die "podman is not installed (run scripts/install-deps.sh)"

mirror=${PFE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
release=$(sed -n 's/^ARG DEBIAN_RELEASE=\(.*\)$/\1/p' docker/Dockerfile | head -n1)
[ -n "$release" ] || die "docker/Dockerfile has no 'ARG DEBIAN_RELEASE=...' line"
rust_from=$(sed -n 's/^FROM \(rust:[^ ]*\).*$/\1/p' docker/Dockerfile | head -n1)
[ -n "$rust_from" ] || die "docker/Dockerfile has no 'FROM rust:...' line"
rust_ref=${rust_from//\$\{DEBIAN_RELEASE\}/$release}
debian_ref="debian:${release}-slim"

exists() { podman image exists "docker.io/library/$1"; }
fresh() { [ "${PFE_REBUILD_BASE:-0}" = 1 ] || ! exists "$1"; }

work=$(mktemp -d /var/tmp/pfe-images.XXXXXX)
trap 'rm -rf "$work"' EXIT

# ---- debian:bookworm-slim ---------------------------------------------------
if fresh "$debian_ref"; then
  t0=$(date +%s)
  say "debootstrap --variant=minbase $release (from $mirror)"
  root="$work/rootfs"
  debootstrap --variant=minbase "$release" "$root" "$mirror" > "$work/debootstrap.log" 2>&1 \
    || { tail -n 30 "$work/debootstrap.log" >&2; die "debootstrap $release failed (log above)"; }
  # What the official slim image has: the deb822 sources with updates and
  # security, no docs/man pages installed, no apt caches kept.
  rm -f "$root/etc/apt/sources.list"
  cat > "$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $release $release-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: $release-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  cat > "$root/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
EOF
  printf 'APT::Install-Recommends "false";\n' > "$root/etc/apt/apt.conf.d/docker-no-recommends"
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
         "$root"/var/log/* "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/locale/*
  : > "$root/etc/resolv.conf"; : > "$root/etc/hostname"
  tar -C "$root" --numeric-owner -cf - . \
    | podman import -q --change 'CMD ["bash"]' - "docker.io/library/$debian_ref" > /dev/null \
    || die "podman import $debian_ref failed"
  rm -rf "$root"
  say "$debian_ref made in $(( $(date +%s) - t0 ))s"
else
  say "$debian_ref exists, kept"
fi

# ---- rust:R-slim-bookworm ---------------------------------------------------
if fresh "$rust_ref"; then
  t0=$(date +%s)
  command -v rustc >/dev/null || die "no rustc on PATH: the builder image is made from this machine's toolchain"
  sysroot=$(rustc --print sysroot)
  have=$(rustc --version | awk '{print $2}')
  want=${rust_ref#rust:}; want=${want%%-*}
  case "$have" in
    "$want" | "$want".*) ;;
    *) die "docker/Dockerfile wants $rust_ref but this machine's rustc is $have ($sysroot)" ;;
  esac
  [ -x "$sysroot/bin/cargo" ] || die "the toolchain $sysroot has no cargo"
  # The toolchain without its docs (share/), the CA certificates if any.
  mkdir -p "$work/ctx/toolchain" "$work/ctx/ca"
  cp -a "$sysroot/bin" "$sysroot/lib" "$work/ctx/toolchain/"
  [ -d "$sysroot/libexec" ] && cp -a "$sysroot/libexec" "$work/ctx/toolchain/"
  ncert=0
  for c in /usr/local/share/ca-certificates/*.crt; do
    [ -f "$c" ] || continue
    cp "$c" "$work/ctx/ca/"; ncert=$((ncert + 1))
  done
  cp tests/container/rust-builder.Containerfile "$work/ctx/Containerfile"
  say "building $rust_ref from $debian_ref + rustc $have ($sysroot), $ncert extra CA certificate(s)"
  podman build --network host --pull=never -f "$work/ctx/Containerfile" \
    -t "docker.io/library/$rust_ref" "$work/ctx" > "$work/rust-build.log" 2>&1 \
    || { tail -n 30 "$work/rust-build.log" >&2; die "building $rust_ref failed (log above)"; }
  say "$rust_ref made in $(( $(date +%s) - t0 ))s"
else
  say "$rust_ref exists, kept"
fi

# ---- postgres:15 ------------------------------------------------------------
# The database `pfe compose` writes for PROSODY_STORAGE=postgres: a stand-in
# from Debian 12's PostgreSQL 15 (tests/container/postgres.Containerfile).
pg_ref=postgres:15
if fresh "$pg_ref"; then
  t0=$(date +%s)
  mkdir -p "$work/pg"
  cp tests/container/postgres.Containerfile "$work/pg/Containerfile"
  cp tests/container/postgres-entrypoint.sh "$work/pg/"
  podman build --network host --pull=never -f "$work/pg/Containerfile" \
    -t "docker.io/library/$pg_ref" "$work/pg" > "$work/pg-build.log" 2>&1 \
    || { tail -n 30 "$work/pg-build.log" >&2; die "building $pg_ref failed (log above)"; }
  say "$pg_ref made in $(( $(date +%s) - t0 ))s"
else
  say "$pg_ref exists, kept"
fi

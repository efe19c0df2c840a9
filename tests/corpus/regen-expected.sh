#!/bin/bash
# Regenerate tests/corpus/expected/*.json from tests/corpus/configs with
# Prosody 13's own code (prosody-eval.lua) and prosodyctl.
#
# Usage: sudo tests/corpus/regen-expected.sh [ID...]      (no ID: every config)
#
# Needs root: it runs itself in a private mount namespace (unshare -m) where
#   /mnt        is a fresh tmpfs holding a copy of configs/ at /mnt/corpus,
#   /var/log    is a fresh tmpfs with an empty prosody/ directory,
#   /var/lib/prosody and /run are fresh tmpfs (with /run/prosody),
# so prosodyctl's writability checks and data directory never touch the
# machine and always see the same empty state, and it runs
# `prosodyctl --root --config /mnt/corpus/ID.cfg.lua check config`.
#
# Why a copy at a short absolute path:
#  * Prosody resolves a wildcard Include against the including file's
#    directory and then resolves the result again, so with a relative config
#    path "conf.d/*.cfg.lua" becomes "configs/configs/conf.d/...". Real
#    deployments use absolute paths (/etc/prosody/prosody.cfg.lua).
#  * configmanager finds the line number of a "direct usage of the Lua API"
#    or "Duplicate option" warning by comparing Lua's short_src with the file
#    name; short_src is cut to 59 characters, so for a longer path the lookup
#    gives nil and the config fails to load with
#    "bad argument #2 to 'format' (number expected, got nil)". Every corpus
#    path is at most 46 characters below /mnt/corpus/ (59 in all).
#  * Wildcard Includes list files in readdir() order, unsorted. The copy is
#    made in name order on a fresh tmpfs, so the order is the same on every run
#    (on Linux 6.x tmpfs lists newest first, i.e. reverse name order).
# /mnt/corpus is written as $CONFIGS in the output (prosody-eval.lua --alias).
#
# Each run uses the environment of the config's MANIFEST.tsv row only
# (env -i, plus PATH): NAME=value pairs separated by ";", or "-".
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [ "${PFE_CORPUS_NS:-}" != "1" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "regen-expected.sh: run as root (it needs unshare -m and prosodyctl)" >&2
		exit 2
	fi
	exec unshare -m --propagation private env PFE_CORPUS_NS=1 "$0" "$@"
fi

mount -t tmpfs tmpfs /mnt
mount -t tmpfs tmpfs /var/log
mkdir -p /var/log/prosody
mkdir -p /var/lib/prosody
mount -t tmpfs tmpfs /var/lib/prosody
mount -t tmpfs tmpfs /run
mkdir -p /run/prosody

corpus=/mnt/corpus
mkdir "$corpus"
# copy in name order: directories, symlinks (kept as links) and files
(cd "$here/configs" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort) | while IFS= read -r p; do
	src="$here/configs/$p"
	if [ -L "$src" ]; then
		cp -P "$src" "$corpus/$p"
	elif [ -d "$src" ]; then
		mkdir "$corpus/$p"
	else
		cp "$src" "$corpus/$p"
	fi
	if [ ${#p} -gt 46 ]; then
		echo "regen-expected.sh: warning: configs/$p is longer than 46 characters (see above)" >&2
	fi
done

mkdir -p "$here/expected"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

wanted=" $* "
tail -n +2 "$here/MANIFEST.tsv" | while IFS=$'\t' read -r id repo path commit licence era envspec notes; do
	if [ $# -gt 0 ] && [[ "$wanted" != *" $id "* ]]; then continue; fi
	cfg="$corpus/$id.cfg.lua"
	envargs=(PATH=/usr/sbin:/usr/bin:/sbin:/bin)
	if [ "$envspec" != "-" ]; then
		IFS=';' read -r -a pairs <<< "$envspec"
		envargs+=("${pairs[@]}")
	fi

	set +e
	(cd /mnt && env -i "${envargs[@]}" prosodyctl --root --config "$cfg" check config) > "$work/out" 2>&1
	rc=$?
	set -e

	# verdict and a run-independent report (see prosodyctl-report.lua)
	lua5.4 "$here/prosodyctl-report.lua" "$rc" < "$work/out" > "$work/report"
	verdict=$(head -n 1 "$work/report")
	tail -n +2 "$work/report" > "$work/report-lines"

	env -i "${envargs[@]}" lua5.4 "$here/prosody-eval.lua" --pretty \
		--alias "$corpus=\$CONFIGS" \
		--set "prosodyctl=$verdict" \
		--set "prosodyctl_rc=$rc" \
		--set-lines "prosodyctl_report=$work/report-lines" \
		"$cfg" > "$here/expected/$id.json"
	echo "$id: $(grep -m1 '"loads"' "$here/expected/$id.json" | tr -d ' ,') prosodyctl=$verdict" >&2
done

#!/usr/bin/env bash
# Refreshes the catalog tables in README.md from `pfe docs`.
set -euo pipefail
cd "$(dirname "$0")/.."
tables=$(cargo run -q -- docs)
python3 - "$tables" <<'PY'
import sys, re
tables = sys.argv[1]
text = open("README.md").read()
new = re.sub(r"<!-- catalog:start -->.*<!-- catalog:end -->",
             lambda _: "<!-- catalog:start -->\n" + tables.rstrip("\n") + "\n<!-- catalog:end -->",
             text, flags=re.S)
open("README.md", "w").write(new)
PY

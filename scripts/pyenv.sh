#!/usr/bin/env bash
# Creates (or refreshes) the project's Python virtual environment at .venv for the checks that
# use Python clients and independent references, installing every scripts/python/requirements-*.txt.
# The product never needs it: Swift tests that use it read DISTILL_LAB_PYTHON and skip when it is unset.
# Prints the interpreter's path on stdout; prints nothing and exits 0 when Python 3 is not installed.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v python3 >/dev/null 2>&1 || { echo "pyenv: no python3; Python checks will be skipped" >&2; exit 0; }
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    # Debian's python3 ships venv/ensurepip separately.
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        echo "pyenv: installing python3-venv" >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >&2
    else
        echo "pyenv: python3 has no venv module (apt-get install python3-venv); Python checks will be skipped" >&2
        exit 0
    fi
fi
[ -x .venv/bin/python ] || python3 -m venv .venv >&2
stamp=.venv/.requirements.sha256
want=$(cat scripts/python/requirements-*.txt 2>/dev/null | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    for f in scripts/python/requirements-*.txt; do
        [ -f "$f" ] || continue
        echo "pyenv: installing $f" >&2
        .venv/bin/python -m pip install -q --disable-pip-version-check -r "$f" >&2
    done
    echo "$want" > "$stamp"
fi
echo "$PWD/.venv/bin/python"

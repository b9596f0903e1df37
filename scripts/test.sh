#!/usr/bin/env bash
# The README's test command: installs the BLAS packages when missing and the Python environment of
# the checks that use Python clients (scripts/pyenv.sh), then runs the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
if [ -z "${DISTILL_LAB_PYTHON:-}" ]; then
    py=$(bash scripts/pyenv.sh || true)
    [ -n "$py" ] && export DISTILL_LAB_PYTHON="$py"
fi
swift test "$@"

#!/usr/bin/env bash
# The README's test command: installs the BLAS packages when missing, then runs the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
swift test "$@"

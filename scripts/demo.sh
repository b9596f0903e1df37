#!/usr/bin/env bash
# The README's main command: installs the BLAS packages when missing, builds the release binary and
# runs the classroom demo (Experiments/quickstart.yaml: fidelity versus cost per defence, HTML report).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
swift build -c release --product distill-lab
.build/release/distill-lab demo "$@"

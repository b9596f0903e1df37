#!/usr/bin/env bash
# The README's main command: installs the BLAS packages when missing, builds the release binary,
# trains a small teacher on the built-in grammar corpus and samples from it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
swift build -c release --product distill-lab
bin=.build/release/distill-lab
$bin train --corpus grammar --out checkpoints/grammar-teacher --steps 300 --eval-interval 100
$bin sample --checkpoint checkpoints/grammar-teacher --prompt "the" --tokens 40 --count 3 --temperature 0.8

#!/usr/bin/env bash
# Builds the Examples package (DistillLab used as a library dependency, as a researcher's package uses it)
# and runs each example once, small. CI runs this after the tests; any example that fails fails CI.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cd Examples
swift build
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
echo "== TrainTeacher"
swift run --skip-build TrainTeacher 300 "$scratch/teacher"
test -f "$scratch/teacher/model.safetensors"
echo "== AttackUnderDefence"
swift run --skip-build AttackUnderDefence top_k
echo "== RunSweep (twice: the second run reuses every cell)"
swift run --skip-build RunSweep "$scratch/sweep"
swift run --skip-build RunSweep "$scratch/sweep" | tee "$scratch/second.txt"
grep -q "^0 cell(s) computed" "$scratch/second.txt" || { echo "examples: the second RunSweep recomputed cells" >&2; exit 1; }

#!/usr/bin/env bash
# compare-results.sh EXPECTED ACTUAL: compares two results directories of one experiment and lists what differs
# (nothing when they match; exit status 1 when anything does). Every file but manifest.json (dates, timings,
# machine) must be byte-identical; cell records are compared without `seconds`, `commit` and `shard` (when,
# with which commit and in which shard a cell was computed). A README.md in EXPECTED is the maintainers' reading of
# the results, not the runner's output, and is left out. Used by `make reproduce` and the Slurm self-test.
set -uo pipefail
if [ $# -ne 2 ] || [ ! -d "$1" ] || [ ! -d "$2" ]; then
    echo "usage: compare-results.sh EXPECTED_DIR ACTUAL_DIR (two results directories of one experiment)" >&2
    exit 2
fi
expected=${1%/} actual=${2%/}
differs=0
say() {
    echo "  $1"
    differs=1
}
strip() { grep -Ev '^  "(seconds|commit|shard)" : ' "$1"; }
while IFS= read -r f; do
    rel=${f#"$expected"/}
    [ "$rel" = manifest.json ] || [ "$rel" = README.md ] && continue
    if [ ! -f "$actual/$rel" ]; then
        say "not written by this run: $rel"
    elif [[ $rel == cells/*.json ]]; then
        if ! cmp -s <(strip "$f") <(strip "$actual/$rel"); then
            say "cell differs: $rel (index $(sed -n 's/^  "index" : \([0-9]*\).*/\1/p' "$f"))"
        fi
    elif ! cmp -s "$f" "$actual/$rel"; then
        say "file differs: $rel"
    fi
done < <(find "$expected" -type f ! -name '.*' | sort)
while IFS= read -r f; do
    rel=${f#"$actual"/}
    [ -f "$expected/$rel" ] || say "extra: $rel (not in $expected)"
done < <(find "$actual" -type f ! -name '.*' ! -name manifest.json | sort)
exit $differs

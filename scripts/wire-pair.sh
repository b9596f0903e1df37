#!/usr/bin/env bash
# The attack over the wire beside the same attack in-process: runs Experiments/wire-inprocess.yaml (training
# the teacher into the cache), serves that cached checkpoint with `distill-lab serve` on 127.0.0.1:8765 (no
# defences, no rate limit), creates a key, runs Experiments/wire-endpoint.yaml against the server with the key
# in DISTILL_LAB_WIRE_KEY, stops the server, and prints both students' agreement and KL side by side with
# their difference (scripts/wire_compare.py). Loopback only.
#
#   env OPENBLAS_CORETYPE=Cooperlake bash scripts/wire-pair.sh                 # into results/ (clean tree)
#   OUT=/tmp/wire bash scripts/wire-pair.sh                                     # into /tmp/wire/wire-{inprocess,endpoint}
#
# Environment: CACHE (teacher cache; default a new empty directory), OUT (parent of the two output
# directories; default results/), B (the binary; default .build/release/distill-lab), FRESH (default 1:
# recompute every cell).
set -euo pipefail
cd "$(dirname "$0")/.."
B="${B:-.build/release/distill-lab}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/distill-wire.XXXXXX")"
CACHE="${CACHE:-$WORK/cache}"
OUT="${OUT:-results}"
fresh=()
[ "${FRESH:-1}" = 1 ] && fresh=(--fresh)
server=""
cleanup() { if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi; }
trap cleanup EXIT

echo "wire-pair: in-process ($OUT/wire-inprocess, cache $CACHE)"
"$B" run Experiments/wire-inprocess.yaml "${fresh[@]}" --cache "$CACHE" --out "$OUT/wire-inprocess" --quiet

entries=("$CACHE"/teachers/*/checkpoint)
if [ "${#entries[@]}" -ne 1 ] || [ ! -d "${entries[0]}" ]; then
    echo "wire-pair: expected one trained teacher in $CACHE/teachers, found ${#entries[@]}; use an empty CACHE" >&2
    exit 2
fi
cat >"$WORK/serve.yaml" <<YAML
teacher: ${entries[0]}
model_name: wire-teacher
listen: {host: 127.0.0.1, port: 8765}
database: $WORK/serve.sqlite
gateway: {rate_limit: null}
YAML
key=$("$B" serve keys create "$WORK/serve.yaml" --name wire-attacker | cut -f2)
"$B" serve "$WORK/serve.yaml" --log-level warning >"$WORK/serve.out" 2>"$WORK/serve.err" &
server=$!
for _ in $(seq 1 600); do
    grep -q "listening" "$WORK/serve.out" 2>/dev/null && break
    kill -0 "$server" 2>/dev/null || { cat "$WORK/serve.err" >&2; exit 2; }
    sleep 0.1
done
echo "wire-pair: over HTTP ($OUT/wire-endpoint) against $(cat "$WORK/serve.out")"
start=$(date +%s)
DISTILL_LAB_WIRE_KEY="$key" "$B" run Experiments/wire-endpoint.yaml "${fresh[@]}" --cache "$CACHE" \
    --out "$OUT/wire-endpoint" --quiet
echo "wire-pair: the HTTP run took $(($(date +%s) - start)) s"
"$B" serve keys list "$WORK/serve.yaml" || true
cleanup
server=""
python3 scripts/wire_compare.py "$OUT/wire-inprocess/results.csv" "$OUT/wire-endpoint/results.csv"

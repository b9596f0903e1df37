#!/usr/bin/env bash
# Load test of `distill-lab serve` on loopback with wrk (Debian's `wrk`): 16-token completions at 1, 8 and 64
# concurrent connections, with batching on (5 ms window, 64 queries) and off (one request per teacher pass);
# prints requests/s and p50/p99 latency per cell as a Markdown table. Checks one answer before timing.
# Not part of `swift test`. usage: scripts/service_loadtest.sh CHECKPOINT_DIR [SECONDS] [BINARY]
set -euo pipefail
ck=$(cd "$1" && pwd)
seconds=${2:-10}
bin=${3:-$(cd "$(dirname "$0")/.." && pwd)/.build/release/distill-lab}
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 1; }
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
cat > "$work/post.lua" <<'EOF'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("KEY")
wrk.body = '{"model": "teacher", "prompt": "abcabcab", "max_tokens": 16, "temperature": 1}'
EOF
echo "| batching | clients | requests/s | p50 ms | p99 ms | non-200 |"
echo "|---|---:|---:|---:|---:|---:|"
for mode in on off; do
    if [ $mode = on ]; then batching="{window_ms: 5, max_batch: 64}"; else batching="{window_ms: 0, max_batch: 1}"; fi
    rm -f "$work"/serve.sqlite*
    cat > "$work/serve.yaml" <<EOF
teacher: $ck
model_name: teacher
listen: {host: 127.0.0.1, port: 0}
database: serve.sqlite
gateway: {rate_limit: null}
batching: $batching
limits: {max_choices: 64}
EOF
    export KEY=$("$bin" serve keys create "$work/serve.yaml" --name load | cut -f2)
    "$bin" serve "$work/serve.yaml" --log-level warning > "$work/out.log" 2> "$work/err.log" &
    server=$!
    for _ in $(seq 100); do grep -q listening "$work/out.log" 2>/dev/null && break; sleep 0.1; done
    port=$(grep -o '127.0.0.1:[0-9]*' "$work/out.log" | cut -d: -f2)
    url="http://127.0.0.1:$port/v1/completions"
    # Verify: one answer of 16 tokens.
    got=$(curl -s "$url" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
        -d '{"model": "teacher", "prompt": "abcabcab", "max_tokens": 16}' | grep -o '"completion_tokens":[0-9]*' | cut -d: -f2)
    [ "$got" = 16 ] || { echo "check failed: completion_tokens=$got" >&2; cat "$work/err.log" >&2; exit 1; }
    wrk -t1 -c8 -d2s -s "$work/post.lua" "$url" > /dev/null  # warm-up
    for c in 1 8 64; do
        t=$(( c < 2 ? 1 : 2 ))
        out=$(wrk -t$t -c$c -d${seconds}s --timeout 10s --latency -s "$work/post.lua" "$url")
        rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
        p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
        p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
        bad=$(echo "$out" | awk '/Non-2xx/ {print $5}')
        ms() { case "$1" in *ms) echo "${1%ms}";; *us) awk -v v="${1%us}" 'BEGIN {printf "%.2f", v / 1000}';; *s) awk -v v="${1%s}" 'BEGIN {printf "%.0f", v * 1000}';; *) echo "$1";; esac; }
        echo "| $mode | $c | $rps | $(ms "$p50") | $(ms "$p99") | ${bad:-0} |"
    done
    rows=$("$bin" serve keys list "$work/serve.yaml" | awk -F'\t' '$2 == "load" {print $4}')
    echo "(batching $mode: $rows ledger rows)" >&2
    kill -TERM $server
    wait $server 2>/dev/null || true
done

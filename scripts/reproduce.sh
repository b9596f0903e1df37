#!/usr/bin/env bash
# `make reproduce`: regenerates every committed result — each Experiments/*.yaml whose results/<experiment>/
# has a manifest.json — into a scratch directory, from an empty teacher cache, and compares it with results/.
# Every file but manifest.json (dates, timings, machine) must be byte-identical; cell records are compared
# without their `seconds`, `commit` and `shard` (when, where and by which commit a cell was computed).
# Prints a progress line per experiment — a bar of the committed time done, and an estimate of the time left
# from the committed manifests' cell and teacher timings scaled by how fast this machine has been so far — with each run's own
# progress under it on a terminal, then one verdict per experiment.
#
#   EXPERIMENTS="quickstart defence-sweep" make reproduce   # a subset, by experiment name
#   SCRATCH=/tmp/repro JOBS=1 bash scripts/reproduce.sh     # keep the output there; one cell at a time
#
# Environment: EXPERIMENTS (names; default all), SCRATCH (default a new mktemp directory), JOBS (passed to
# `run --jobs`, default auto), THREADS (`--threads`), DISTILL_LAB_CACHE (default an empty $SCRATCH/cache,
# so teachers are trained again as they were for the committed results; one sub-cache per kernel), CORETYPE
# (the OpenBLAS kernel for every experiment, whatever the environment says; by default each experiment runs
# under the kernel its committed manifest names — another kernel gives other last digits). Exit status 1 when
# anything differs.
set -uo pipefail
cd "$(dirname "$0")/.."

SCRATCH="${SCRATCH:-$(mktemp -d "${TMPDIR:-/tmp}/distill-lab-reproduce.XXXXXX")}"
mkdir -p "$SCRATCH"
CACHE="${DISTILL_LAB_CACHE:-$SCRATCH/cache}"
JOBS="${JOBS:-auto}"

# name → file, for every experiment file with committed results.
declare -A file_of=()
all=()
for f in Experiments/*.yaml; do
    name=$(sed -n 's/^experiment:[[:space:]]*\([^[:space:]#]*\).*/\1/p' "$f" | head -n 1)
    [ -n "$name" ] && [ -f "results/$name/manifest.json" ] || continue
    # An attack sent to a served teacher needs its server running: scripts/wire-pair.sh reproduces it.
    grep -q '^endpoint:' "$f" && continue
    file_of[$name]=$f
    all+=("$name")
done
if [ -n "${EXPERIMENTS:-}" ]; then
    read -r -a names <<<"$EXPERIMENTS"
    for n in "${names[@]}"; do
        if [ -z "${file_of[$n]:-}" ]; then
            echo "reproduce: EXPERIMENTS names '$n', which has no Experiments/*.yaml with committed results/$n/manifest.json; choose among: ${all[*]}" >&2
            exit 2
        fi
    done
else
    names=("${all[@]}")
fi

# The committed time of an experiment (seconds, rounded up), from its manifest: its cells' time plus the time
# of the teachers its invocation trained (reproduce starts from an empty cache, so it trains them again).
estimate() {
    awk '/"cells_total_seconds":/ { if (!c) c = $2 + 0 }
         /"teachers_trained_by_this_invocation": *\[/ { inside = 1; next }
         inside && /^ *\]/ { inside = 0 }
         inside && /"seconds":/ { t += $2 + 0 }
         END { printf "%d\n", c + t + 1 }' "results/$1/manifest.json"
}
clock() { printf '%d:%02d:%02d' $(($1 / 3600)) $(($1 / 60 % 60)) $(($1 % 60)); }
# A bar of the committed time done so far: bar DONE TOTAL.
bar() {
    local width=24 filled=0
    [ "$2" -gt 0 ] && filled=$(($1 * width / $2))
    printf '[%s%s] %3d%%' "$(printf '%*s' "$filled" '' | tr ' ' '#')" "$(printf '%*s' $((width - filled)) '' | tr ' ' '.')" \
        $(($2 > 0 ? $1 * 100 / $2 : 0))
}

total_estimate=0
for n in "${names[@]}"; do total_estimate=$((total_estimate + $(estimate "$n"))); done
# The OpenBLAS kernel an experiment's committed results were computed with (its manifest's machine.blas).
kernel() {
    if [ -n "${CORETYPE:-}" ]; then
        echo "$CORETYPE"
        return
    fi
    k=$(sed -n 's/.*"blas": *"OpenBLAS kernel \([A-Za-z0-9]*\).*/\1/p' "results/$1/manifest.json" | head -n 1)
    echo "${k:-Cooperlake}"
}

echo "reproduce: ${#names[@]} experiment(s) into $SCRATCH (teacher cache $CACHE/<kernel>, ${CORETYPE:+OPENBLAS_CORETYPE=$CORETYPE, }--jobs $JOBS); committed cell and teacher time $(clock "$total_estimate")"

echo "reproduce: building distill-lab (release)"
swift build -c release --product distill-lab >"$SCRATCH/build.log" 2>&1 || {
    tail -n 30 "$SCRATCH/build.log" >&2
    echo "reproduce: the release build failed (log: $SCRATCH/build.log)" >&2
    exit 2
}
bin=.build/release/distill-lab

start=$(date +%s)
done_estimate=0
failed=()
i=0
for n in "${names[@]}"; do
    i=$((i + 1))
    est=$(estimate "$n")
    elapsed=$(($(date +%s) - start))
    left=$((total_estimate - done_estimate))
    # Scale the committed timings by this machine's pace so far.
    if [ "$done_estimate" -gt 0 ]; then left=$((left * elapsed / done_estimate)); fi
    k=$(kernel "$n")
    echo "$(bar "$done_estimate" "$total_estimate") [$i/${#names[@]}] $n (${file_of[$n]}; kernel $k; committed time $(clock "$est")) — elapsed $(clock "$elapsed"), about $(clock "$left") left"
    t0=$(date +%s)
    out="$SCRATCH/$n"
    log="$SCRATCH/$n.log"
    : >"$log"
    run() {
        OPENBLAS_CORETYPE="$k" "$bin" run "${file_of[$n]}" --out "$out" --cache "$CACHE/$k" --fresh --jobs "$JOBS" \
            ${THREADS:+--threads "$THREADS"}
    }
    if [ -t 2 ]; then
        # On a terminal the run's progress (a line per cell, with its estimate) shows under the experiment's line.
        run 2>&1 >>"$log" | tee -a "$log" >&2
        status=${PIPESTATUS[0]}
    else
        run >>"$log" 2>&1
        status=$?
    fi
    if [ "$status" -ne 0 ]; then
        echo "  FAILED: distill-lab run exited non-zero; last lines of $SCRATCH/$n.log:"
        tail -n 5 "$log" | sed 's/^/    /'
        failed+=("$n")
    else
        differences=$(bash scripts/compare-results.sh "results/$n" "$out")
        took=$(($(date +%s) - t0))
        if [ -z "$differences" ]; then
            echo "  identical to results/$n/ (every file but manifest.json; cells without timings) in $(clock "$took")"
        else
            echo "  DIFFERS from results/$n/ (after $(clock "$took")):"
            echo "$differences"
            failed+=("$n")
        fi
    fi
    done_estimate=$((done_estimate + est))
done

echo "reproduce: ${#names[@]} experiment(s) in $(clock $(($(date +%s) - start))); regenerated results in $SCRATCH"
if [ ${#failed[@]} -gt 0 ]; then
    echo "reproduce: not reproduced: ${failed[*]}"
    exit 1
fi
echo "reproduce: every result reproduced"

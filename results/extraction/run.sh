#!/bin/sh
# Regenerates every table in results/extraction/ (see README.md there). Release build; ~2 h on 2 cores.
# Usage: sh results/extraction/run.sh [section...]   sections: teacher curve ordering temperature strategies logitbias sequence
set -e
cd "$(dirname "$0")/../.."
B=.build/release/distill-lab
R=results/extraction
T=checkpoints/markov-teacher
want() { [ $# -eq 0 ] || [ -z "$SECTIONS" ] || echo " $SECTIONS " | grep -q " $1 "; }
SECTIONS="$*"
# The recipe every run shares unless it says otherwise: own-corpus prompts (a fresh sample of the teacher's
# source) of 1–16 tokens, a student of the teacher's shape, soft labels at τ = 1, 8 passes per milestone.
COMMON="--teacher $T --prompt-length 1-16 --epochs 8"

if want teacher; then
  swift build -c release
  $B train --corpus markov --out $T --steps 2000 --width 64 --layers 2 --heads 4 --eval-interval 500
fi

if want curve; then
  # Must-show 1: no defence, full distributions, agreement against budget.
  $B attack --teacher $T --harvest echo:k=17 --prompt-length 2-17 --eval-length 16 --epochs 8 --max-steps 10000 \
     --budget 1000,3000,10000,30000,100000 --out $R/curve/echo-full
  $B attack --teacher $T --harvest distribution --prompt-length 1-16 --batch-size 128 --epochs 16 --max-steps 8000 \
     --budget 1000,3000,10000,30000,100000 --out $R/curve/distribution
fi

if want ordering; then
  # Must-show 2: what the API returns, at fixed query budgets, 3 seeds.
  for s in 0 1 2; do
    $B attack $COMMON --harvest distribution --budget 1000,3000,10000 --seed $s --api-seed $s --out $R/ordering/full-s$s
    $B attack $COMMON --harvest distribution --defence top_k:k=5 --budget 1000,3000,10000 --seed $s --api-seed $s --out $R/ordering/topk5-s$s
    $B attack $COMMON --harvest distribution --defence rounding:decimals=2 --budget 1000,3000,10000 --seed $s --api-seed $s --out $R/ordering/round2-s$s
    $B attack $COMMON --harvest distribution --defence rounding:decimals=1 --budget 1000,3000,10000 --seed $s --api-seed $s --out $R/ordering/round1-s$s
    $B attack $COMMON --harvest distribution --defence label_only --budget 1000,3000,10000 --seed $s --api-seed $s --out $R/ordering/label-s$s
  done
fi

if want temperature; then
  # Must-show 3: soft labels at temperature against hard labels on small transfer sets, 3 seeds.
  # Every milestone trains at least 1000 steps, so the small sets are trained to convergence (or overfitting).
  for s in 0 1 2; do
    for loss in hard soft:temperature=1 soft:temperature=2 soft:temperature=4 soft:temperature=4,alpha=0.9; do
      name=$(echo $loss | tr ':=,' '---')
      $B attack $COMMON --harvest distribution --loss $loss --min-steps 1000 --budget 100,300,1000 --seed $s --out $R/temperature/$name-s$s
    done
  done
fi

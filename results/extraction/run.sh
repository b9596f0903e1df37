#!/bin/sh
# Regenerates every table in results/extraction/ (see README.md there). Release build; about 3 h on 2 cores.
# Usage: sh results/extraction/run.sh [section...]   sections: teacher curve ordering temperature temperature-tiny
#        strategies logitbias sequence (none: all of them); sections run in this order whatever the order given.
set -e
cd "$(dirname "$0")/../.."
B=.build/release/distill-lab
R=results/extraction
T=checkpoints/markov-teacher
want() { [ $# -eq 0 ] || [ -z "$SECTIONS" ] || echo " $SECTIONS " | grep -q " $1 "; }
SECTIONS="$*"
# The recipe every fixed-budget table shares unless it says otherwise: own-corpus prompts (a fresh sample of
# the teacher's source) of 1–16 tokens, a student of the teacher's shape, soft labels at τ = 1, 8 passes over
# the harvest per milestone and at least 2000 steps, so that each budget's student is trained to convergence
# (or to overfitting) and a column compares what was bought, not how long the student trained.
COMMON="--teacher $T --prompt-length 1-16 --epochs 8 --min-steps 2000"

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
  # Must-show 3: soft labels at temperature against hard labels (the teacher's top-1, what a label API gives)
  # on small transfer sets, 3 seeds.
  for s in 0 1 2; do
    for loss in hard soft:temperature=1 soft:temperature=2 soft:temperature=4 soft:temperature=2,alpha=0.9; do
      name=$(echo $loss | tr ':=,' '---')
      $B attack $COMMON --harvest distribution --loss $loss --budget 2000,3000,5000,10000 --seed $s --out $R/temperature/$name-s$s
    done
  done
fi

if want temperature-tiny; then
  # The same at 100–1000 queries, where no student learns the order-2 structure (kept as the honest negative).
  for s in 0 1 2; do
    for loss in hard soft:temperature=1 soft:temperature=2 soft:temperature=4 soft:temperature=4,alpha=0.9; do
      name=$(echo $loss | tr ':=,' '---')
      $B attack $COMMON --harvest distribution --loss $loss --budget 100,300,1000 --seed $s --out $R/temperature-tiny/$name-s$s
    done
  done
fi

if want strategies; then
  # Where prompts come from (Krishna et al. 2020 and the rest), full distributions, one seed.
  for strategy in random_tokens own_corpus:source=fresh own_corpus:source=train own_corpus:source=related,mix=0.5 \
                  teacher_bootstrap active:pool=own_corpus,pool_factor=4; do
    name=$(echo $strategy | tr ':=,' '---')
    $B attack $COMMON --harvest distribution --strategy $strategy --budget 1000,3000,10000 --out $R/strategies/$name
  done
fi

if want logitbias; then
  # Top-k answers with and without the logit-bias reconstruction (Carlini et al. 2024), at equal query budgets.
  for harvest in top_k:k=5 logit_bias:k=5 distribution; do
    name=$(echo $harvest | tr ':=,' '---')
    $B attack $COMMON --harvest $harvest --budget 1000,4000,16000 --out $R/logitbias/$name
  done
fi

if want sequence; then
  # Sampled text: sequence-level KD (Kim & Rush 2016, hard loss on the samples) against soft top-5 logprobs of
  # the same completions and echoed top-5 logprobs, budgets in dollars (completions pay output prices).
  # A completion record holds 16 targets, so the 2000-step floor would be hundreds of passes over the first
  # milestone's harvest: these runs train 8 passes per milestone and no floor.
  S="--min-steps 50 --unit dollars --budget 0.002,0.02,0.2 --eval-length 16"
  $B attack $COMMON $S --harvest completion:max_new_tokens=16 --loss hard --out $R/sequence/completion-hard
  $B attack $COMMON $S --harvest completion:max_new_tokens=16,logprobs=5 --out $R/sequence/completion-top5
  $B attack $COMMON $S --harvest echo:k=5 --prompt-length 2-17 --out $R/sequence/echo-top5
fi

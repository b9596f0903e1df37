#!/usr/bin/env bash
# Slurm self-test: a one-node cluster on loopback runs scripts/slurm/sweep.sbatch on a small experiment (three
# shards at once on an empty teacher cache, then the merge) and checks that the merged results equal a single
# `distill-lab run` byte for byte (scripts/compare-results.sh) and that the shards trained the shared teacher
# once. Installs Debian's slurm-wlm and munge with apt-get when missing (needs root), writes its slurm.conf,
# munge key, socket, state and logs in a scratch directory, addresses the controller and the node as 127.0.0.1
# only (Slurm 22.05 has no listen-address setting: the daemons' ports, SLURM_SELFTEST_PORT and the next, are
# open on every interface while the test runs), and stops the daemons it started.
#
#   bash scripts/slurm/selftest.sh                       # Experiments/quickstart.yaml, 3 shards
#   EXPERIMENT=Experiments/quickstart.yaml TIMEOUT=900 bash scripts/slurm/selftest.sh
#
# Environment: EXPERIMENT (default Experiments/quickstart.yaml), TIMEOUT (seconds to wait for the jobs,
# default 900), SCRATCH (default a new mktemp directory), SLURM_SELFTEST_PORT (slurmctld's port, default
# 16817; slurmd uses the next one). Exit status 0 when every check passes.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
EXPERIMENT=${EXPERIMENT:-Experiments/quickstart.yaml}
TIMEOUT=${TIMEOUT:-900}
SCRATCH=${SCRATCH:-$(mktemp -d "${TMPDIR:-/tmp}/distill-lab-slurm.XXXXXX")}
port=${SLURM_SELFTEST_PORT:-16817}
shards=3
node=selftest
step() { echo "selftest: $*"; }
fail() {
    echo "selftest: FAILED: $*" >&2
    exit 1
}

# 1. Packages.
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null || ! command -v sbatch >/dev/null; then
    [ "$(id -u)" -eq 0 ] || fail "slurm-wlm and munge are not installed and this is not root; install them (apt-get install slurm-wlm munge) or run as root"
    step "installing slurm-wlm and munge (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends slurm-wlm munge >"$SCRATCH/apt.log" 2>&1 ||
        fail "apt-get install slurm-wlm munge failed; see $SCRATCH/apt.log"
fi
step "$(sbatch --version 2>/dev/null || dpkg-query -W -f '${Package} ${Version}' slurm-wlm) in $SCRATCH"

# 2. The binary.
step "building distill-lab (release)"
swift build -c release --product distill-lab >"$SCRATCH/build.log" 2>&1 || fail "release build failed; see $SCRATCH/build.log"
bin=$root/.build/release/distill-lab

# 3. munge and slurm, on loopback, everything in the scratch directory.
mkdir -p "$SCRATCH/munge" "$SCRATCH/state" "$SCRATCH/spool"
chmod 700 "$SCRATCH/munge"
dd if=/dev/urandom of="$SCRATCH/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$SCRATCH/munge/munge.key"
socket=$SCRATCH/munge/munge.socket
cat >"$SCRATCH/slurm.conf" <<CONF
ClusterName=distill-lab-selftest
SlurmctldHost=$(hostname -s)(127.0.0.1)
MailProg=/bin/true
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=$(id -un)
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$socket
CredType=cred/munge
StateSaveLocation=$SCRATCH/state
SlurmdSpoolDir=$SCRATCH/spool
SlurmctldPidFile=$SCRATCH/slurmctld.pid
SlurmdPidFile=$SCRATCH/slurmd.pid
SlurmctldLogFile=$SCRATCH/slurmctld.log
SlurmdLogFile=$SCRATCH/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
SlurmdParameters=config_overrides
NodeName=$node NodeAddr=127.0.0.1 NodeHostname=$(hostname -s) CPUs=$shards State=UNKNOWN
PartitionName=selftest Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$SCRATCH/slurm.conf

started=()
cleanup() {
    for pidfile in "${started[@]}"; do
        if [ -f "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null || true; fi
    done
    sleep 1
    for pidfile in "${started[@]}"; do
        if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then kill -9 "$(cat "$pidfile")" 2>/dev/null || true; fi
    done
    [ ${#started[@]} -gt 0 ] && echo "selftest: stopped the daemons it started (${#started[@]})"
}
trap cleanup EXIT

munged --force --socket="$socket" --key-file="$SCRATCH/munge/munge.key" --pid-file="$SCRATCH/munge/munged.pid" \
    --log-file="$SCRATCH/munge/munged.log" --seed-file="$SCRATCH/munge/munge.seed" ||
    fail "munged did not start; see $SCRATCH/munge/munged.log"
started+=("$SCRATCH/munge/munged.pid")
slurmctld -i -f "$SCRATCH/slurm.conf" || fail "slurmctld did not start; see $SCRATCH/slurmctld.log"
started+=("$SCRATCH/slurmctld.pid")
slurmd -N "$node" -f "$SCRATCH/slurm.conf" || fail "slurmd did not start; see $SCRATCH/slurmd.log"
started+=("$SCRATCH/slurmd.pid")
up_by=$(($(date +%s) + 60))
while [ "$(date +%s)" -lt "$up_by" ]; do
    timeout 5 sinfo -h -n "$node" -o %t 2>/dev/null | grep -Eq '^(idle|mix|alloc)' && break
    sleep 1
done
sinfo -h -n "$node" -o %t | grep -Eq '^(idle|mix|alloc)' ||
    fail "node $node is not up ($(sinfo -h -o '%t %E' 2>&1)); see $SCRATCH/slurmd.log and slurmctld.log"
step "one-node cluster up on 127.0.0.1:$port ($(sinfo -h -o '%P %D %c %t'))"

# 4. Three shards at once on an empty shared cache, then the merge.
out=$SCRATCH/sweep
export DISTILL_LAB_CACHE=$SCRATCH/cache DISTILL_LAB_BIN=$bin
SBATCH_ARGS="--cpus-per-task=1" bash scripts/slurm/sweep.sbatch "$EXPERIMENT" "$shards" "$out"
deadline=$(($(date +%s) + TIMEOUT))
while [ -n "$(squeue -h -o %i 2>/dev/null)" ]; do
    [ "$(date +%s)" -lt "$deadline" ] || {
        squeue
        fail "jobs still running after ${TIMEOUT}s; logs in $out/logs"
    }
    sleep 3
done
for f in "$out"/logs/*.out; do
    echo "--- $(basename "$f")"
    sed 's/^/  /' "$f"
done
[ -f "$out/merged/results.json" ] || fail "the merge wrote no results.json; see $out/logs/merge.out"

# 5. Checks: one teacher training among the shards, and the merged results equal a single run.
trainings=$(cat "$out"/logs/shard-*.out | grep -c '^training teacher' || true)
waits=$(cat "$out"/logs/shard-*.out | grep -c 'waiting for distill-lab process' || true)
step "teacher trainings across the $shards shards: $trainings; shards that waited for another's training: $waits"
[ "$trainings" -eq 1 ] || fail "the shards trained $trainings teachers for one spec"
step "single run of $EXPERIMENT (same cache) for comparison"
"$bin" run "$EXPERIMENT" --out "$SCRATCH/single" --cache "$SCRATCH/cache" --quiet >/dev/null 2>"$SCRATCH/single.log" ||
    fail "single run failed; see $SCRATCH/single.log"
if differences=$(bash scripts/compare-results.sh "$SCRATCH/single" "$out/merged"); then
    step "merged results of $shards shards = single run, byte for byte (every file but manifest.json; cells without timings)"
else
    echo "$differences"
    fail "merged results differ from a single run"
fi
step "PASSED"

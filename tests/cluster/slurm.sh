#!/usr/bin/env bash
# The Slurm recipe (deploy/slurm/pivotsim.sbatch) on a real one-node Slurm
# cluster started here, as root, in a temporary folder: its own slurm.conf
# (SLURM_CONF; /etc/slurm is never read or written), munge key and socket,
# spool, state, logs, pid files and ports. Run by .ci/run after `cargo test`;
# prints `slurm: N passed, N failed` and exits 1 on any failure.
#
# 1. The recipe with a stand-in binary (tests/cluster/stand-in-pivotsim.sh):
#    every shard index runs once, from the array's variables and packed
#    several to a task, the merge runs after them, a failed shard cancels
#    the merge, and an array past MaxArraySize is refused before submitting.
# 2. The recipe with the real binary on a small run (4 array tasks), merged
#    and compared with a single run; the same shards through
#    JOB_COMPLETION_INDEX (Kubernetes' variable) and through plain
#    `--shard I/N`, merged and compared too.
# PIVOTSIM names the binary; else `cargo build --release` builds it.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
# Only this cluster and the settings given below: nothing from a scheduler
# this may run under, nor the recipe's settings from the caller's environment.
while read -r name; do unset "$name"; done < <(compgen -e | grep -E '^(SLURM_|SBATCH_)')
unset JOB_COMPLETION_INDEX AWS_BATCH_JOB_ARRAY_INDEX SCENARIO PATHS SHARDS OUT THREADS SHARDS_PER_TASK \
    RUN_ARGS MERGE_ARGS
repo=$PWD
stand_in=$repo/tests/cluster/stand-in-pivotsim.sh
recipe=$repo/deploy/slurm/pivotsim.sbatch
scenario=scenarios/smoke.toml
paths=20000 # above the 8,192-path pilot, so shards share histogram bins
run_args="--worst 5"

passed=0 failed=0
pass() {
    echo "ok: $*"
    passed=$((passed + 1))
}
fail() {
    echo "FAILED: $*"
    failed=$((failed + 1))
}
finish() {
    echo "slurm: $passed passed, $failed failed"
    [ "$failed" = 0 ] && [ "$passed" -gt 0 ]
    exit
}
elapsed() { echo "$((SECONDS - $1)) s"; }

# --- the packages ------------------------------------------------------------
missing() {
    local b
    for b in sbatch squeue scontrol sinfo slurmctld slurmd munged; do
        command -v "$b" >/dev/null || return 0
    done
    return 1
}
start=$SECONDS
if missing; then
    echo "slurm: installing Debian's slurmctld slurmd slurm-client munge"
    if [ "$(id -u)" != 0 ]; then
        echo "slurm: ERROR: Slurm is missing and only root can install it: this test cannot run" >&2
    else
        apt_log=$(mktemp)
        if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            --no-install-recommends slurmctld slurmd slurm-client munge; } >"$apt_log" 2>&1; then
            tail -n 20 "$apt_log" >&2
            echo "slurm: ERROR: apt-get install of slurmctld slurmd slurm-client munge failed (log above)" >&2
        fi
        rm -f "$apt_log"
    fi
fi
if missing; then
    fail "Slurm and munge are not installed, so the recipe was NOT tested"
    finish
fi
pass "slurm and munge installed ($(slurmctld -V), $(munged -V 2>&1 | cut -d" " -f1); $(elapsed "$start"))"

# --- a one-node cluster -------------------------------------------------------
dir=$(mktemp -d /tmp/pivotsim-slurm.XXXXXX)
chmod 755 "$dir" # munged wants every folder above its socket searchable
mkdir -p "$dir"/{munge,state,spool,log,run}
chmod 755 "$dir/munge"
export SLURM_CONF=$dir/slurm.conf
daemons=() jobs=()
# shellcheck disable=SC2317 # called by the trap
cleanup() {
    if [ "${#jobs[@]}" -gt 0 ]; then
        scancel "${jobs[@]}" 2>/dev/null
        local i
        for ((i = 0; i < 30; i++)); do
            [ -z "$(squeue -h 2>/dev/null)" ] && break
            sleep 0.5
        done
    fi
    local pid
    for pid in "${daemons[@]}"; do
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
node=$(hostname -s)
ctld_port=$(free_port)
slurmd_port=$(free_port)
while [ "$slurmd_port" = "$ctld_port" ]; do slurmd_port=$(free_port); done
cat >"$SLURM_CONF" <<EOF
ClusterName=pivotsimtest
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket.2
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
ReturnToService=2
# Start jobs as soon as others end (by default batch jobs wait up to 3 s for
# the next pass: most of this test's time on 2 CPUs).
SchedulerParameters=batch_sched_delay=0
NodeName=$node NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=test Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF

start=$SECONDS
head -c 1024 /dev/urandom >"$dir/munge/munge.key"
chmod 400 "$dir/munge/munge.key"
munged --foreground --socket="$dir/munge/munge.socket.2" --key-file="$dir/munge/munge.key" \
    --pid-file="$dir/run/munged.pid" --seed-file="$dir/munge/munged.seed" \
    >"$dir/log/munged.log" 2>&1 &
daemons=($!)
for ((i = 0; i < 50; i++)); do
    [ -S "$dir/munge/munge.socket.2" ] && break
    sleep 0.1
done
slurmctld -D -c >"$dir/log/slurmctld.out" 2>&1 &
daemons=($! "${daemons[@]}")
slurmd -D -N "$node" >"$dir/log/slurmd.out" 2>&1 &
daemons=($! "${daemons[@]}")
state=
for ((i = 0; i < 120; i++)); do
    state=$(sinfo -h -n "$node" -o %T 2>/dev/null)
    [ "$state" = idle ] && break
    sleep 0.5
done
if [ "$state" != idle ]; then
    fail "node $node not idle after 60 s (state '$state'); the daemons' logs:"
    tail -n 15 "$dir"/log/* >&2
    finish
fi
pass "munged, slurmctld and slurmd up, node $node idle in $(elapsed "$start")"

# --- helpers ------------------------------------------------------------------
# submit OUT VAR=VALUE...: the recipe, from the repository's root; sets
# array_id and merge_id.
submit() {
    local out=$1 said
    shift
    array_id='' merge_id=''
    if ! said=$(env OUT="$out" "$@" bash "$recipe" 2>&1); then
        echo "$said" >&2
        return 1
    fi
    array_id=$(sed -n 's/^array job \([0-9]*\):.*/\1/p' <<<"$said")
    merge_id=$(sed -n 's/^merge job \([0-9]*\),.*/\1/p' <<<"$said")
    if [ -z "$array_id" ] || [ -z "$merge_id" ]; then
        echo "cannot read the job ids in: $said" >&2
        return 1
    fi
    jobs+=("$array_id" "$merge_id")
}

# job_end ID: waits up to 180 s for the job to end and prints its state.
job_end() {
    local i state
    for ((i = 0; i < 360; i++)); do
        state=$(scontrol show job -o "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | head -n 1)
        case $state in
        PENDING | RUNNING | CONFIGURING | COMPLETING | SUSPENDED | "") sleep 0.5 ;;
        *) break ;;
        esac
    done
    echo "${state:-UNKNOWN}"
}

# logs OUT: the tail of each job log of a recipe's run.
logs() {
    local f
    for f in "$1"/logs/*; do
        [ -f "$f" ] && echo "--- $f" && tail -n 8 "$f"
    done >&2
}

# --- 1. the recipe with a stand-in binary ---------------------------------------
start=$SECONDS
standin_env=(PIVOTSIM="$stand_in" SCENARIO="$scenario" PATHS=1000)
submit "$dir/env" "${standin_env[@]}" SHARDS=4 && env_ids=("$array_id" "$merge_id")
submit "$dir/packed" "${standin_env[@]}" SHARDS=10 SHARDS_PER_TASK=3 && packed_ids=("$array_id" "$merge_id")
submit "$dir/broken" "${standin_env[@]}" SHARDS=4 STAND_IN_FAIL_SHARD=2 && broken_ids=("$array_id" "$merge_id")

# expect_shards OUT N SOURCE: the stand-in's merge saw shards 0..N-1, once each.
expect_shards() {
    local want i
    want=$(for ((i = 0; i < $2; i++)); do
        echo "shard $i of $2, $3, 1000 paths, 1 threads, $scenario"
    done)
    [ "$(cat "$1/merged/shards.txt" 2>/dev/null)" = "$want" ]
}
if [ -n "${env_ids[1]:-}" ] && [ "$(job_end "${env_ids[1]}")" = COMPLETED ] &&
    expect_shards "$dir/env" 4 slurm; then
    pass "stand-in: 4 array tasks ran shards 0-3 of 4 from the array's variables, then the merge"
else
    fail "stand-in: 4 shards from the array's variables"
    logs "$dir/env"
fi
if [ -n "${packed_ids[1]:-}" ] && [ "$(job_end "${packed_ids[1]}")" = COMPLETED ] &&
    expect_shards "$dir/packed" 10 plain &&
    [ "$(scontrol show job -o "${packed_ids[0]}" | grep -c ArrayTaskId=)" = 4 ]; then
    pass "stand-in: SHARDS_PER_TASK=3 ran shards 0-9 of 10 in 4 array tasks, each once"
else
    fail "stand-in: 10 shards packed 3 to a task"
    logs "$dir/packed"
fi
if [ -n "${broken_ids[1]:-}" ]; then
    broken_state=$(job_end "${broken_ids[1]}")
    if [ "$broken_state" = CANCELLED ] && [ ! -e "$dir/broken/merged" ]; then
        pass "stand-in: a failed shard cancels the merge job, which writes nothing"
    else
        fail "stand-in: after a failed shard the merge job ended $broken_state"
        logs "$dir/broken"
    fi
else
    fail "stand-in: could not submit the run with a failing shard"
fi
echo "slurm: the stand-in's three submissions ended in $(elapsed "$start")"
said=$(env OUT="$dir/large" "${standin_env[@]}" SHARDS=1002 bash "$recipe" 2>&1)
if [ $? = 2 ] && [[ $said == *"exceed this cluster's MaxArraySize (1001)"* ]] && [ ! -e "$dir/large" ]; then
    pass "stand-in: 1,002 tasks are refused before submitting (MaxArraySize 1001)"
else
    fail "stand-in: SHARDS=1002 gave: $said"
fi

# --- 2. the real binary -------------------------------------------------------
if [ -z "${PIVOTSIM:-}" ]; then
    start=$SECONDS
    if ! cargo build --release --quiet; then
        fail "cargo build --release"
        finish
    fi
    PIVOTSIM=$repo/target/release/pivotsim
    echo "slurm: built $PIVOTSIM in $(elapsed "$start")"
fi
# same_output SINGLE MERGED: summary.json equal apart from the timing fields
# (elapsed_s, run_started_utc, performance), numbers compared as written; the
# same CSV files, byte for byte.
same_output() {
    python3 - "$1" "$2" <<'EOF'
import json, pathlib, sys

TIMING = {"elapsed_s", "run_started_utc", "performance"}
single, merged = map(pathlib.Path, sys.argv[1:])

def load(path):
    def pairs(items):
        return [(k, v) for k, v in items if k not in TIMING]
    return json.loads(path.read_text(), object_pairs_hook=pairs, parse_float=str, parse_int=str)

def first_difference(a, b, where="summary.json"):
    if type(a) is not type(b) or (not isinstance(a, list) and a != b):
        return f"{where}: {a!r} != {b!r}"
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{where}: {len(a)} entries != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            if isinstance(x, tuple):
                if x[0] != y[0]:
                    return f"{where}: key {x[0]!r} != {y[0]!r}"
                found = first_difference(x[1], y[1], f"{where}.{x[0]}")
            else:
                found = first_difference(x, y, f"{where}[{i}]")
            if found:
                return found
    return None

problems = []
try:
    found = first_difference(load(single / "summary.json"), load(merged / "summary.json"))
    if found:
        problems.append(found)
except (OSError, ValueError) as e:
    problems.append(f"summary.json: {e}")
csvs = sorted(p.name for p in single.glob("*.csv"))
if csvs != sorted(p.name for p in merged.glob("*.csv")):
    problems.append(f"CSV files {sorted(p.name for p in merged.glob('*.csv'))} != {csvs}")
for name in csvs:
    a, b = (single / name).read_bytes(), (merged / name).read_bytes() if (merged / name).exists() else b""
    if a != b:
        lines = [i for i, (x, y) in enumerate(zip(a.splitlines(), b.splitlines()), 1) if x != y]
        problems.append(f"{name} differs (line {lines[0] if lines else 'count'})")
for p in problems:
    print("   ", p)
sys.exit(1 if problems else 0)
EOF
}

# expect_merge NAME SHARDS_DIR MERGED_DIR: 4 shard files there, and the merge
# equal to the single run.
expect_merge() {
    local files
    files=$(cd "$2" 2>/dev/null && printf '%s ' *.pvshard)
    if [ "$files" != "shard-0-of-4.pvshard shard-1-of-4.pvshard shard-2-of-4.pvshard shard-3-of-4.pvshard " ]; then
        fail "$1: shard files in $2 are '$files'"
    elif same_output "$dir/single" "$3"; then
        pass "$1: merged 4 shards equal the single run"
    else
        fail "$1: merged 4 shards differ from the single run (above)"
    fi
}

start=$SECONDS
# shellcheck disable=SC2086 # run_args is a list of arguments
if ! "$PIVOTSIM" run "$scenario" --paths "$paths" --no-charts -q --out "$dir/single" $run_args; then
    fail "the single run of $scenario"
    finish
fi
echo "slurm: single run of $paths paths in $(elapsed "$start")"

start=$SECONDS
if submit "$dir/slurm" PIVOTSIM="$PIVOTSIM" SCENARIO="$scenario" PATHS="$paths" SHARDS=4 RUN_ARGS="$run_args"; then
    state=$(job_end "$merge_id")
    echo "slurm: 4 array tasks and the merge ended in $(elapsed "$start")"
    if [ "$state" = COMPLETED ]; then
        expect_merge "slurm array (--shard-from-env)" "$dir/slurm/shards" "$dir/slurm/merged"
    else
        fail "slurm array (--shard-from-env): the merge job ended $state"
        logs "$dir/slurm"
    fi
else
    fail "slurm array (--shard-from-env): submitting the recipe"
fi

# merged_here NAME OUT OK: the 4 shards run here into OUT/shards (OK=1 if
# every run succeeded), merged into OUT/merged and compared.
merged_here() {
    if [ "$3" = 1 ] && "$PIVOTSIM" merge "$2/shards" --out "$2/merged"; then
        expect_merge "$1" "$2/shards" "$2/merged"
    else
        fail "$1: running or merging the 4 shards"
    fi
}
ok=1
for i in 0 1 2 3; do
    # shellcheck disable=SC2086
    JOB_COMPLETION_INDEX=$i "$PIVOTSIM" run "$scenario" --paths "$paths" --shard-from-env --shards 4 \
        --out "$dir/k8s/shards" $run_args || {
        ok=0
        break
    }
done
merged_here "JOB_COMPLETION_INDEX (--shard-from-env --shards 4)" "$dir/k8s" "$ok"
ok=1
for i in 0 1 2 3; do
    # shellcheck disable=SC2086
    "$PIVOTSIM" run "$scenario" --paths "$paths" --shard "$i/4" --out "$dir/plain/shards" $run_args || {
        ok=0
        break
    }
done
merged_here "plain --shard I/4" "$dir/plain" "$ok"
finish

#!/usr/bin/env bash
# A stand-in for the pivotsim binary that tests the scheduler recipes alone:
# it takes the arguments of `pivotsim run ... --shard` and `pivotsim merge`,
# reads the shard index the way pivotsim does (`--shard I/N`, or with
# `--shard-from-env`: SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN with
# SLURM_ARRAY_TASK_COUNT, else JOB_COMPLETION_INDEX with --shards N), and
# writes one line per shard instead of simulating. `merge` checks that every
# index 0..N-1 is there once and writes them in order to OUT/shards.txt.
# STAND_IN_FAIL_SHARD=I makes shard I exit 1, as a crashed task would.
set -euo pipefail

die() {
    echo "stand-in pivotsim: $*" >&2
    exit 2
}

run() {
    local scenario=$1 paths='' shard='' from_env=0 shards='' threads='' out=''
    shift
    while [ $# -gt 0 ]; do
        case $1 in
        --paths) paths=$2 && shift ;;
        --shard) shard=$2 && shift ;;
        --shard-from-env) from_env=1 ;;
        --shards) shards=$2 && shift ;;
        --threads) threads=$2 && shift ;;
        --out) out=$2 && shift ;;
        --worst | --seed) shift ;;
        --no-charts | -q) ;;
        *) die "run: unexpected argument '$1'" ;;
        esac
        shift
    done
    [ -f "$scenario" ] || die "no scenario file '$scenario'"
    [ -n "$out" ] || die "run: --out is required"
    local index count source
    if [ -n "$shard" ]; then
        [ "$from_env" = 0 ] || die "--shard and --shard-from-env together"
        index=${shard%/*} count=${shard#*/} source=plain
    elif [ "$from_env" = 1 ] && [ -n "${SLURM_ARRAY_TASK_ID:-}" ]; then
        [ "${SLURM_ARRAY_TASK_STEP:-1}" = 1 ] || die "array step ${SLURM_ARRAY_TASK_STEP} is not 1"
        # shellcheck disable=SC2153 # set by Slurm
        index=$((SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN)) count=$SLURM_ARRAY_TASK_COUNT source=slurm
        [ -z "$shards" ] || [ "$shards" = "$count" ] ||
            die "--shards $shards but SLURM_ARRAY_TASK_COUNT=$count"
    elif [ "$from_env" = 1 ] && [ -n "${JOB_COMPLETION_INDEX:-}" ]; then
        [ -n "$shards" ] || die "JOB_COMPLETION_INDEX needs --shards N"
        index=$JOB_COMPLETION_INDEX count=$shards source=kubernetes
    else
        die "run: no shard given"
    fi
    [ "$index" != "${STAND_IN_FAIL_SHARD:-}" ] || {
        echo "stand-in pivotsim: shard $index fails on purpose" >&2
        exit 1
    }
    mkdir -p "$out"
    # noclobber: a shard run twice fails instead of overwriting its file.
    (set -o noclobber && echo "shard $index of $count, $source, $paths paths, $threads threads, $scenario" \
        >"$out/shard-$index-of-$count.pvshard")
}

merge() {
    local dir=$1 out=''
    shift
    while [ $# -gt 0 ]; do
        case $1 in
        --out) out=$2 && shift ;;
        --no-charts) ;;
        *) die "merge: unexpected argument '$1'" ;;
        esac
        shift
    done
    local files=("$dir"/shard-*-of-*.pvshard) count i
    [ -e "${files[0]}" ] || die "merge: no shards in $dir"
    count=${files[0]##*-of-} count=${count%.pvshard}
    [ "${#files[@]}" = "$count" ] || die "merge: ${#files[@]} shard files in $dir for $count shards"
    mkdir -p "$out"
    for ((i = 0; i < count; i++)); do
        [ -f "$dir/shard-$i-of-$count.pvshard" ] || die "merge: shard $i of $count missing"
        cat "$dir/shard-$i-of-$count.pvshard"
    done >"$out/shards.txt"
}

case "${1:-}" in
run | merge) "$@" ;;
*) die "unknown command '${1:-}'" ;;
esac

#!/usr/bin/env bash
# benchhost performance harness: `make bench`, or benches/perf.sh [--runs N].
#
# Builds target/release/benchhost when it is missing (BENCH_BUILD=1: always), checks the engine,
# the images and Compose v2, then runs benches/perf.py (python3, standard library only), which
# measures `list` (warm / empty compile cache), `up` against an independent NFS NULL probe,
# `up` against `docker compose --profile P up -d --wait` on the same images, `down`, and the
# peak RSS of `up`, and prints a table of medians against the goals. Exit 1 when a goal is missed.
#
# Settings (environment):
#   BENCH_RUNS=5            runs per stack and cold-cache list runs
#   BENCH_PROFILES="ganesha rclone"
#   GANESHA_IMAGE=benchhost/ganesha:4.3-2   (tests/images/build.sh ganesha)
#   LOCALSTACK_IMAGE=benchhost-test/localstack:latest  RCLONE_IMAGE=benchhost-test/rclone:latest
#   BENCH_OUT=target/perf   raw numbers (results.json, results.md) and every run's output
#   BENCHHOST_BIN=target/release/benchhost   the binary to measure
#
# The run holds the lock the Docker tests use (tests/support/docker.rs), so it never overlaps
# a `cargo test` that uses the same ports, and removes what it started on exit (benchhost
# down; compose down -v of project benchhost-perf).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${BENCH_RUNS:-5}
PROFILES=${BENCH_PROFILES:-ganesha rclone}
export GANESHA_IMAGE=${GANESHA_IMAGE:-benchhost/ganesha:4.3-2}
export LOCALSTACK_IMAGE=${LOCALSTACK_IMAGE:-benchhost-test/localstack:latest}
export RCLONE_IMAGE=${RCLONE_IMAGE:-benchhost-test/rclone:latest}
OUT=${BENCH_OUT:-target/perf}
[[ $OUT == /* ]] || OUT="$PWD/$OUT"
# run records of up/down (results/<timestamp>/) go with the harness output, not ./results
export BENCH_RESULTS_DIR="$OUT/results"
BIN=${BENCHHOST_BIN:-target/release/benchhost}
while [[ $# -gt 0 ]]; do
    case $1 in
        --runs) RUNS=$2; shift 2 ;;
        --profiles) PROFILES=$2; shift 2 ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        *) echo "perf.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

say() { echo "perf: $*" >&2; }
die() { echo "perf: $*" >&2; exit 1; }

command -v python3 >/dev/null || die "python3 is needed (apt-get install python3)"

# 1. The release binary (the first build takes ~8 minutes on 2 cores).
if [[ ! -x $BIN || ${BENCH_BUILD:-0} == 1 ]]; then
    lib=$(rustc --print target-libdir --target wasm32-wasip2 2>/dev/null || true)
    [[ -n $lib && -d $lib ]] || rustup target add wasm32-wasip2
    say "building $BIN (cargo build --release)"
    cargo build --release
fi

# 2. Engine, images, Compose v2.
docker info >/dev/null 2>&1 || die "the Docker engine is not reachable: start it (sudo dockerd &) or set DOCKER_HOST"
need_images=("$LOCALSTACK_IMAGE" "$RCLONE_IMAGE")
[[ " $PROFILES " == *" ganesha "* ]] && need_images+=("$GANESHA_IMAGE")
for img in "${need_images[@]}"; do
    docker image inspect "$img" >/dev/null 2>&1 \
        || die "image $img is missing: build the local test images with tests/setup.sh (or tests/images/build.sh NAME), or point the *_IMAGE setting at one you have"
done
COMPOSE=""
if docker compose version >/dev/null 2>&1; then
    COMPOSE="docker compose"
else
    c="${XDG_CACHE_HOME:-$HOME/.cache}/benchhost/compose-v2/docker-compose"
    if [[ -x $c ]]; then COMPOSE=$c; else say "Compose v2 not found: the compose comparison is skipped (tests/setup.sh installs it)"; fi
fi

# 3. Serialise with the Docker tests, clean up on any exit.
LOCK="${TMPDIR:-/tmp}/benchhost-docker-tests.lock"
exec 9>>"$LOCK"
if ! flock -n 9; then
    say "waiting for the Docker test lock $LOCK (a cargo test is using the engine)"
    flock 9
fi
cleanup() {
    for p in $PROFILES; do
        "$BIN" down "$p" >/dev/null 2>&1 || true
        if [[ -n $COMPOSE ]]; then
            $COMPOSE -f docker-compose.yml -p benchhost-perf --profile "$p" down -v >/dev/null 2>&1 || true
        fi
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# benchhost runs one system at a time: measuring needs an empty engine. Someone else's system
# is never taken down here; say what is up and stop.
up_now=$("$BIN" status --json 2>/dev/null | python3 -c 'import json,sys; print(" ".join(s["profile"] for s in json.load(sys.stdin)))' || true)
if [[ -n $up_now ]]; then
    echo "perf: profiles are up ($up_now); benchhost down them (or benchhost clean) first" >&2
    exit 1
fi

say "machine: $(nproc) cores, $(free -g | awk '/^Mem:/{print $2}') GiB, Docker $(docker version -f '{{.Server.Version}}' 2>/dev/null), $(uname -sr)"
say "benchhost $(stat -c %y "$BIN" | cut -d. -f1), $RUNS runs per stack, profiles: $PROFILES"
# shellcheck disable=SC2086
python3 benches/perf.py --benchhost "$BIN" --compose "$COMPOSE" --runs "$RUNS" --profiles $PROFILES \
    --ganesha-image "$GANESHA_IMAGE" --localstack-image "$LOCALSTACK_IMAGE" --rclone-image "$RCLONE_IMAGE" --out "$OUT"

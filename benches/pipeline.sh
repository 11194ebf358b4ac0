#!/usr/bin/env bash
# The whole pipeline against the engine alone, on the same photos on this machine:
#   engine:   `photocheck batch DIR` (all cores), photos/s;
#   pipeline: `photocheck api` + `photocheck worker` (release builds, one worker process with one check
#             per core) on the local PostgreSQL and RabbitMQ; every photo in DIR is POSTed to the API
#             (8 uploads at once) and the time from receipt to committed decision is read back from
#             the database: throughput, p50 and p99.
# Two sets: N (default 400) archive-size JPEGs made from the ID-style test photos, and the 115 raw test
# photos. Usage: benches/pipeline.sh [N]. The generated JPEGs live in a temporary folder removed on exit.
set -euo pipefail

N=${1:-400}
cd "$(dirname "${BASH_SOURCE[0]}")/.."
TARGET=${CARGO_TARGET_DIR:-$PWD/target}
RAW=../shared/photos/raw
POSTGRES=${PHOTOCHECK_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}
AMQP=${PHOTOCHECK_TEST_AMQP:-amqp://guest:guest@127.0.0.1:5672/%2f}

if [ ! -d "$RAW" ]; then
    printf '\n!!!! test photos not found at %s: nothing to measure !!!!\n\n' "$(pwd)/$RAW" >&2
    exit 0
fi

cargo build --release --locked -p photocheck-cli -p benches \
    --bin photocheck --bin make-archive-set --bin pipeline-load
PHOTOCHECK=$TARGET/release/photocheck
LOAD=$TARGET/release/pipeline-load

WORK=$(mktemp -d "${TMPDIR:-/tmp}/photocheck-pipeline.XXXXXX")
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

"$TARGET/release/make-archive-set" "$WORK/archive" "$N" >/dev/null

wait_ready() {
    for _ in $(seq 1 100); do
        curl -fsS "$1/readyz" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "$1 never became ready" >&2
    exit 1
}

measure() {
    local label=$1 dir=$2
    local count started ended rc=0
    count=$(find "$dir" -maxdepth 1 -type f ! -name '.*' | wc -l)
    started=$(date +%s.%N)
    "$PHOTOCHECK" batch "$dir" --out "$WORK/$label.jsonl" 2>"$WORK/$label.batch.log" || rc=$?
    ended=$(date +%s.%N)
    [ "$rc" -le 1 ] || { cat "$WORK/$label.batch.log" >&2; exit "$rc"; }
    local engine
    engine=$(awk -v n="$count" -v s="$started" -v e="$ended" 'BEGIN { printf "%.1f", n / (e - s) }')

    local database queue
    database=$("$LOAD" schema "$POSTGRES")
    queue="photocheck-bench-$label-$$"
    export PHOTOCHECK_DATABASE=$database PHOTOCHECK_AMQP=$AMQP PHOTOCHECK_QUEUE=$queue \
        PHOTOCHECK_BLOBS=$WORK/blobs-$label RUST_LOG=warn
    "$PHOTOCHECK" api --listen 127.0.0.1:18090 2>"$WORK/$label.api.log" &
    PIDS+=($!)
    local api_pid=$!
    "$PHOTOCHECK" worker --listen 127.0.0.1:19090 2>"$WORK/$label.worker.log" &
    PIDS+=($!)
    local worker_pid=$!
    wait_ready http://127.0.0.1:18090
    wait_ready http://127.0.0.1:19090
    local line
    line=$("$LOAD" run --api http://127.0.0.1:18090 --database "$database" "$dir")
    kill -TERM "$api_pid" "$worker_pid"
    wait "$api_pid" "$worker_pid" 2>/dev/null || true
    for q in "$queue" "$queue.retry" "$queue.dead"; do
        rabbitmqctl -q delete_queue "$q" >/dev/null 2>&1 || true
    done
    local pipeline
    pipeline=$(sed -E 's/.* = ([0-9.]+) photos\/s.*/\1/' <<<"$line")
    printf '%-16s %4d photos  engine (batch) %6.1f photos/s\n' "$label" "$count" "$engine"
    printf '%-16s %4s         %s\n' "" "" "$line"
    awk -v p="$pipeline" -v e="$engine" 'BEGIN { printf "%-16s              pipeline / engine = %.0f %%\n\n", "", 100 * p / e }'
}

printf '\n%s, %d cores\n\n' "$(date -u +%FT%TZ)" "$(nproc)"
measure archive_378x260 "$WORK/archive"
measure raw_test_photos "$RAW"

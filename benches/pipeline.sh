#!/usr/bin/env bash
# The whole pipeline against the engine alone, on the same photos on this machine:
#   engine:   `photocheck batch DIR` (all cores), photos/s;
#   pipeline: `photocheck api` + `photocheck worker` (release builds, one worker process with one check
#             per core) on the local PostgreSQL and RabbitMQ; every photo in DIR is POSTed to the API
#             (8 uploads at once) and the time from receipt to committed decision is read back from
#             the database: throughput, p50 and p99.
# Two sets: N (default 400) archive-size JPEGs made from the ID-style test photos, and the 115 raw test
# photos. Usage: benches/pipeline.sh [N] [archive]  (archive: the first set only). The generated JPEGs live in a temporary folder removed on exit.
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

# CPU seconds (user + system) used so far by the given processes.
cpu_s() {
    local ticks=0 p
    for p in "$@"; do
        [ -r "/proc/$p/stat" ] && ticks=$((ticks + $(awk '{ print $14 + $15 }' "/proc/$p/stat")))
    done
    awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }'
}

# Where the CPU went between two snapshots: api, worker, PostgreSQL, RabbitMQ, and the whole machine.
# PostgreSQL backends are counted at the end (they start with the connections), so its share is an
# upper bound that includes the connection start-up.
snapshot() {
    echo "$(cpu_s "$1") $(cpu_s "$2") $(cpu_s $(pgrep -x postgres)) $(cpu_s $(pgrep beam.smp))" \
        "$(awk '/^cpu / { print ($2 + $3 + $4 + $7 + $8) / 100 }' /proc/stat)"
}

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
    local line before after
    before=$(snapshot "$api_pid" "$worker_pid")
    line=$("$LOAD" run --api http://127.0.0.1:18090 --database "$database" "$dir")
    after=$(snapshot "$api_pid" "$worker_pid")
    kill -TERM "$api_pid" "$worker_pid"
    wait "$api_pid" "$worker_pid" 2>/dev/null || true
    for q in "$queue" "$queue.retry" "$queue.dead"; do
        rabbitmqctl -q delete_queue "$q" >/dev/null 2>&1 || true
    done
    local pipeline
    pipeline=$(sed -E 's/.* = ([0-9.]+) photos\/s.*/\1/' <<<"$line")
    printf '%-16s %4d photos  engine (batch) %6.1f photos/s\n' "$label" "$count" "$engine"
    printf '%-16s %4s         %s\n' "" "" "$line"
    awk -v p="$pipeline" -v e="$engine" 'BEGIN { printf "%-16s              pipeline / engine = %.0f %%\n", "", 100 * p / e }'
    awk -v n="$count" -v e="$engine" -v cores="$(nproc)" -v b="$before" -v a="$after" 'BEGIN {
        split(b, x, " "); split(a, y, " ")
        api = y[1] - x[1]; worker = y[2] - x[2]; pg = y[3] - x[3]; mq = y[4] - x[4]; all = y[5] - x[5]
        rest = all - api - worker - pg - mq
        engine_ms = 1000 * cores / e
        printf "%-16s              CPU ms per photo: worker %.1f (engine alone %.1f), api %.1f, postgres %.1f, rabbitmq %.1f, load generator and rest %.1f\n\n",
            "", 1000 * worker / n, engine_ms, 1000 * api / n, 1000 * pg / n, 1000 * mq / n, 1000 * rest / n
    }'
}

printf '\n%s, %d cores\n\n' "$(date -u +%FT%TZ)" "$(nproc)"
measure archive_378x260 "$WORK/archive"
[ "${2:-}" = archive ] || measure raw_test_photos "$RAW"

#!/usr/bin/env bash
# Throughput of `photocheck batch` in photos per second, on all cores:
#   1. N (default 400) archive-size JPEGs (260 x 378, q90) made from the ID-style test photos, the
#      common upload at national scale;
#   2. the 115 real test photos as they are (mixed sizes up to 2 MB, PNG and WebP among them).
# Usage: benches/batch-throughput.sh [N]     (JOBS=n passes --jobs n to batch)
# The generated JPEGs are derived from third-party photos: they live in a temporary folder that is
# removed on exit, never in the repository.
set -euo pipefail

N=${1:-400}
cd "$(dirname "${BASH_SOURCE[0]}")/.."
TARGET=${CARGO_TARGET_DIR:-$PWD/target}
RAW=../shared/photos/raw

if [ ! -d "$RAW" ]; then
    printf '\n!!!! test photos not found at %s: nothing to measure !!!!\n\n' "$(pwd)/$RAW" >&2
    exit 0
fi

cargo build --release --locked -p photocheck-cli -p benches --bin photocheck --bin make-archive-set
PHOTOCHECK=$TARGET/release/photocheck

WORK=$(mktemp -d "${TMPDIR:-/tmp}/photocheck-batch.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

"$TARGET/release/make-archive-set" "$WORK/archive" "$N"

# run_batch LABEL DIR: times one batch run and prints photos/s.
run_batch() {
    local label=$1 dir=$2 rc=0
    local count
    count=$(find "$dir" -maxdepth 1 -type f ! -name '.*' | wc -l)
    local jobs=()
    [ -z "${JOBS:-}" ] || jobs=(--jobs "$JOBS")
    local started ended
    started=$(date +%s.%N)
    "$PHOTOCHECK" batch "$dir" --out "$WORK/$label.jsonl" "${jobs[@]}" 2>"$WORK/$label.log" || rc=$?
    ended=$(date +%s.%N)
    # batch exits 1 when any photo is flagged (review or reject), which is the normal case here.
    if [ "$rc" -gt 1 ]; then
        printf 'photocheck batch failed (exit %d):\n' "$rc" >&2
        cat "$WORK/$label.log" >&2
        exit "$rc"
    fi
    local lines
    lines=$(wc -l <"$WORK/$label.jsonl")
    awk -v label="$label" -v n="$count" -v lines="$lines" -v s="$started" -v e="$ended" \
        -v cores="$(nproc)" -v jobs="${JOBS:-all cores}" 'BEGIN {
        t = e - s
        printf "%-18s %5d photos (%d results) in %6.2f s = %7.1f photos/s  (%d cores, jobs: %s)\n",
            label, n, lines, t, n / t, cores, jobs
    }'
    # batch's own summary: its timing and the decision counts.
    grep -E '^[0-9]+ photos in|^  (approve|review|reject) ' "$WORK/$label.log" | sed 's/^/    batch: /' || true
}

printf '\n'
run_batch "archive_378x260" "$WORK/archive"
run_batch "raw_test_photos" "$RAW"

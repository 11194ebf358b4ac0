#!/usr/bin/env bash
# photocheck beside the speed peer (../shared/bench/mediapipe_peer.py: MediaPipe's detector, mesh and
# iris refinement in TFLite with XNNPACK, judging eyes and mouth only), on the same archive-size
# photos, pinned to the same core, in one run: peer, photocheck, peer again, then the ratio.
#
#   bash benches/peer.sh            # 29 photos (the bench's ID photos) on core 1
#   N=400 CORE=0 bash benches/peer.sh
#
# The peer prints its mean ms per photo (decode included, model load excluded). photocheck's figure
# is the same statistic: the mean of the reports' own `timing_ms` (decode to decision) over a second
# pass through the same photos in the same process, so model loading is excluded on both sides.
# The peer's Python environment is made once in ~/.cache/photocheck-peer-venv (PyPI).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
shared=${PHOTOCHECK_SHARED:-$root/../shared}
core=${CORE:-1}
n=${N:-29}
venv=${PEER_VENV:-$HOME/.cache/photocheck-peer-venv}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/photocheck-target}

[ -f "$shared/bench/mediapipe_peer.py" ] || { echo "peer.sh: no $shared/bench/mediapipe_peer.py" >&2; exit 2; }
if [ ! -x "$venv/bin/python" ]; then
  echo "peer.sh: making the peer's environment in $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q mediapipe==0.10.21 opencv-python-headless
fi

(cd "$root" && cargo build --release -q -p photocheck-cli -p benches --bin photocheck --bin make-archive-set)
bin="$CARGO_TARGET_DIR/release"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$bin/make-archive-set" "$dir" "$n" >&2

peer() {
  taskset -c "$core" "$venv/bin/python" "$shared/bench/mediapipe_peer.py" "$dir"/*.jpg 2>/dev/null |
    awk '/ms per photo/ {print $1}'
}

ours() {
  # Both passes in one process; only the second (warm) pass is counted.
  taskset -c "$core" "$bin/photocheck" check --json "$dir"/*.jpg "$dir"/*.jpg |
    python3 -c '
import json, statistics, sys
t = [json.loads(line)["timing_ms"] for line in sys.stdin]
warm = t[len(t) // 2:]
print(f"{statistics.mean(warm):.2f} {statistics.median(warm):.2f}")'
}

echo "side by side on core $core, $n archive-size photos ($(date -u +%FT%TZ))"
p1=$(peer)
read -r mean median < <(ours)
p2=$(peer)
echo "MediaPipe peer:  ${p1} ms per photo (mean), before"
echo "photocheck:      ${mean} ms per photo (mean; median ${median})"
echo "MediaPipe peer:  ${p2} ms per photo (mean), after"
python3 -c "print(f'ratio photocheck / peer: {$mean / ((${p1} + ${p2}) / 2):.2f}')"

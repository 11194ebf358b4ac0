#!/usr/bin/env bash
# Password guessing against a real `photocheck serve`: one guess a second at one account for a
# minute, then 128 wrong logins at once from the same address. Prints the answers by status, the server's
# peak resident memory (VmHWM), and how many guesses were actually checked, and whether the right
# password still gets in from the reviewer's side.
# Usage: benches/login-flood.sh [PARALLEL]      (default 128)
set -euo pipefail

PARALLEL=${1:-128}
cd "$(dirname "${BASH_SOURCE[0]}")/.."
TARGET=${CARGO_TARGET_DIR:-$PWD/target}
cargo build --release --locked -p photocheck-cli --bin photocheck
PHOTOCHECK=$TARGET/release/photocheck

WORK=$(mktemp -d "${TMPDIR:-/tmp}/photocheck-flood.XXXXXX")
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cleanup() { [ -z "${SERVER:-}" ] || kill "$SERVER" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

PHOTOCHECK_PASSWORD=the-right-password "$PHOTOCHECK" account add anna --role reviewer --data "$WORK" >/dev/null
"$PHOTOCHECK" serve --data "$WORK" --listen "127.0.0.1:$PORT" 2>"$WORK/serve.log" &
SERVER=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

rss() { awk '/VmHWM/ {print int($2/1024) " MB"}' "/proc/$SERVER/status"; }
# The login form's CSRF pair (its cookie and the field echoing it), as a script that read the form once.
login() { curl -s -o /dev/null -w '%{http_code}\n' -b photocheck_login=bench --data "name=$1&password=$2&_csrf=bench" "http://127.0.0.1:$PORT/login"; }
export -f login
export PORT

echo "server peak RSS before: $(rss)"
echo "one guess a second at one account for 60 s:"
for _ in $(seq 60); do login anna wrong-guess; sleep 1; done | sort | uniq -c | awk '{printf "  %s x %s\n", $1, $2}'
seq "$PARALLEL" | xargs -P "$PARALLEL" -I{} bash -c 'login user{} wrong-guess' | sort | uniq -c |
    awk -v n="$PARALLEL" '{printf "  %s x %s\n", $1, $2} END {print "  (" n " wrong logins at once: 401 checked, 429 turned away)"}'
echo "server peak RSS after the flood: $(rss)"

echo "the right password from the flooding address now (another address gets in): $(login anna the-right-password)"
echo "server peak RSS at the end: $(rss)"

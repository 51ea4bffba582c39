#!/usr/bin/env bash
# Exercises the README's run command the way a person would: starts the demo
# (scripts/demo.sh, what `./dev run` runs after building), waits for the URL
# and token it prints, checks that the API returns events of at least three
# types from the real loopback traffic, then presses Ctrl-C and checks that
# everything stopped.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD=${BUILD:-$ROOT/build/release}
STATE=$(mktemp -d)
OUT="$STATE/demo.out"
fail() { echo "demo: FAILED: $*"; tail -n 20 "$OUT" "$STATE"/logs/*.log 2>/dev/null; exit 1; }

export CCACHE_BASEDIR="$ROOT" CCACHE_NOHASHDIR=1
ninja -C "$BUILD" tapir tapir-agent tapir-collector >/dev/null || fail "build"

# setsid: a process group of its own, so the Ctrl-C below reaches only the demo.
BUILD="$BUILD" TAPIR_STATE="$STATE" TAPIR_API_PORT=18080 TAPIR_GRPC_PORT=14317 \
  setsid "$ROOT/scripts/demo.sh" >"$OUT" 2>&1 &
demo=$!
trap 'kill -INT -- -$demo 2>/dev/null; rm -rf "$STATE"' EXIT

for _ in $(seq 600); do
  grep -q 'API token:' "$OUT" && break
  kill -0 $demo 2>/dev/null || fail "the demo exited early"
  sleep 0.1
done
URL=$(grep -oE 'web UI: +http://[0-9.:]+/' "$OUT" | grep -oE 'http://[0-9.:]+/')
TOKEN=$(grep -oE 'API token: +[^ ]+' "$OUT" | awk '{print $3}')
[ -n "$URL" ] && [ -n "$TOKEN" ] || fail "no URL or token printed"
echo "demo: printed $URL and a token"

curl -fsS "$URL" | grep -q '<div id="root">' || echo "demo: note: no built UI at $URL"
code=$(curl -s -o /dev/null -w '%{http_code}' "${URL}api/v1/flow")
[ "$code" = 401 ] || fail "API without a token answered $code, expected 401"

types=()
for _ in $(seq 90); do
  types=()
  for r in flow dns tls http icmp arp; do
    n=$(curl -fsS -D - -o /dev/null -H "Authorization: Bearer $TOKEN" "${URL}api/v1/$r?_end=1" |
        tr -d '\r' | awk -F': ' 'tolower($1)=="x-total-count"{print $2}')
    [ "${n:-0}" -gt 0 ] && types+=("$r:$n")
  done
  ((${#types[@]} >= 3)) && break
  sleep 1
done
echo "demo: events by type: ${types[*]}"
((${#types[@]} >= 3)) || fail "fewer than three event types after 90 s"

kill -INT -- -$demo
for _ in $(seq 100); do kill -0 $demo 2>/dev/null || break; sleep 0.1; done
kill -0 $demo 2>/dev/null && fail "the demo did not stop on Ctrl-C"
sleep 0.5
if pgrep -f "$STATE" >/dev/null; then fail "processes left running: $(pgrep -af "$STATE")"; fi
echo "demo: stopped cleanly"

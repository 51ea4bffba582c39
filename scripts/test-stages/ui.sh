#!/usr/bin/env bash
# UI stage: type-check and build the web UI, run its unit tests (vitest), then
# drive it in Debian's chromium (playwright-core) against a real collector
# loaded by a real agent replaying the test corpus over mutual TLS.
# Screenshots of each page: build/ui-artifacts/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD=${BUILD:-$ROOT/build/release}
TESTDATA=${TAPIR_TESTDATA:-$ROOT/tests/corpus}
ART="$ROOT/build/ui-artifacts"
WORK=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

export CCACHE_BASEDIR="$ROOT" CCACHE_NOHASHDIR=1
[ -f "$BUILD/build.ninja" ] || cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C "$BUILD" tapir tapir-agent tapir-collector >/dev/null

cd "$ROOT/ui"
[ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error
npm run -s build >/dev/null
npx vitest run

TAPIR="$BUILD/apps/tapir/tapir"
"$TAPIR" certs init --dir "$WORK/pki" --collector-name localhost --agent ui-test-agent >/dev/null
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
GRPC=$(port)
API=$(port)
"$BUILD/apps/tapir-collector/tapir-collector" --db "$WORK/tapir.db" --listen "127.0.0.1:$GRPC" \
  --cert "$WORK/pki/collector.pem" --key "$WORK/pki/collector.key" --ca "$WORK/pki/ca.pem" \
  --api-listen "127.0.0.1:$API" --ui "$ROOT/ui/dist" >"$WORK/collector.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$API/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
TOKEN=$("$TAPIR" token create --db "$WORK/tapir.db" --name ui-test | grep -oE 'tpr_[A-Za-z0-9]+' | head -n1)

mapfile -t files < <(find "$TESTDATA" -type f \( -name '*.pcap' -o -name '*.pcapng' \) | sort)
reads=()
for f in "${files[@]}"; do reads+=(--read "$f"); done
# Some corpus captures are deliberately damaged: the agent reports them and exits 1 after
# exporting everything else, which is what this stage needs.
"$BUILD/apps/tapir-agent/tapir-agent" "${reads[@]}" --collector "127.0.0.1:$GRPC" --server-name localhost \
  --ca "$WORK/pki/ca.pem" --cert "$WORK/pki/agents/ui-test-agent.pem" --key "$WORK/pki/agents/ui-test-agent.key" \
  --spool-dir "$WORK/spool" >"$WORK/agent.log" 2>&1 || true
tail -n 1 "$WORK/agent.log"

rm -rf "$ART"
TAPIR_URL="http://127.0.0.1:$API" TAPIR_TOKEN="$TOKEN" node tests/e2e.mjs "$ART"

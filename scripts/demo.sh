#!/usr/bin/env bash
# The whole system on one machine: certificates, a collector on SQLite with
# the web UI, an agent capturing on loopback, and real traffic (DNS, HTTPS,
# HTTP, ping) generated on loopback so there is something to look at.
# `./dev run` builds first and then runs this. Ctrl-C stops everything.
#
# Environment: BUILD (build dir, default build/release), TAPIR_STATE (state
# dir, default .tapir/demo), TAPIR_API_PORT (default 8080, next free one if
# taken), TAPIR_DEMO_TRAFFIC=0 to generate no traffic.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD=${BUILD:-$ROOT/build/release}
STATE=${TAPIR_STATE:-$ROOT/.tapir/demo}
TAPIR="$BUILD/apps/tapir/tapir"
COLLECTOR="$BUILD/apps/tapir-collector/tapir-collector"
AGENT="$BUILD/apps/tapir-agent/tapir-agent"
UI_DIR="$ROOT/ui/dist"

say() { printf '\033[1m[demo]\033[0m %s\n' "$*"; }
die() { printf '[demo] error: %s\n' "$*" >&2; exit 1; }

for b in "$TAPIR" "$COLLECTOR" "$AGENT"; do [ -x "$b" ] || die "$b is missing; run ./dev build"; done
[ -f "$UI_DIR/index.html" ] || say "warning: $UI_DIR has no built UI; the API still works"

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {  # first free port at or after $1
  local p=$1
  while ! port_free "$p"; do p=$((p + 1)); done
  echo "$p"
}

mkdir -p "$STATE" "$STATE/logs"
pids=()
cleanup() {
  trap - INT TERM EXIT
  say "stopping"
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
trap cleanup EXIT

# Certificates: a CA, the collector (localhost) and one agent.
if [ ! -f "$STATE/pki/ca.pem" ]; then
  "$TAPIR" certs init --dir "$STATE/pki" --collector-name localhost --agent demo-agent >/dev/null
fi

GRPC_PORT=$(free_port "${TAPIR_GRPC_PORT:-4317}")
API_PORT=$(free_port "${TAPIR_API_PORT:-8080}")
URL="http://127.0.0.1:$API_PORT/"

"$COLLECTOR" --db "$STATE/tapir.db" --listen "127.0.0.1:$GRPC_PORT" \
  --cert "$STATE/pki/collector.pem" --key "$STATE/pki/collector.key" --ca "$STATE/pki/ca.pem" \
  --api-listen "127.0.0.1:$API_PORT" --ui "$UI_DIR" >"$STATE/logs/collector.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$API_PORT/healthz" >/dev/null 2>&1 && break
  kill -0 "${pids[0]}" 2>/dev/null || { cat "$STATE/logs/collector.log" >&2; die "the collector did not start"; }
  sleep 0.1
done

TOKEN=$("$TAPIR" token create --db "$STATE/tapir.db" --name "demo-$(date +%s)-$$" | grep -oE '[A-Za-z0-9_-]{20,}' | tail -n1)
[ -n "$TOKEN" ] || die "could not create an API token"

# The agent ignores its own export and API traffic, or every exported batch
# would itself become a flow to export.
"$AGENT" --interface lo --filter "not port $GRPC_PORT and not port $API_PORT" \
  --collector "127.0.0.1:$GRPC_PORT" --server-name localhost --ca "$STATE/pki/ca.pem" \
  --cert "$STATE/pki/agents/demo-agent.pem" --key "$STATE/pki/agents/demo-agent.key" \
  --spool-dir "$STATE/spool" --report-interval 10 --batch-delay-ms 500 \
  --label demo=true >"$STATE/logs/agent.log" 2>&1 &
pids+=($!)

if [ "${TAPIR_DEMO_TRAFFIC:-1}" != 0 ]; then
  "$ROOT/scripts/demo-traffic.sh" "$STATE" >"$STATE/logs/traffic.log" 2>&1 &
  pids+=($!)
fi

say "collector: gRPC 127.0.0.1:$GRPC_PORT (mutual TLS), database $STATE/tapir.db"
say "agent:     capturing on lo, spool $STATE/spool; logs in $STATE/logs"
say "web UI:    $URL"
say "API token: $TOKEN"
say "try:       curl -H 'Authorization: Bearer $TOKEN' '${URL}api/v1/dns?_sort=ts&_order=DESC&_end=5'"
say "Ctrl-C stops everything"

# Stay up until interrupted or a component dies.
while :; do
  for p in "${pids[@]:0:2}"; do
    if ! kill -0 "$p" 2>/dev/null; then
      tail -n 20 "$STATE/logs/collector.log" "$STATE/logs/agent.log" >&2
      die "a component stopped"
    fi
  done
  sleep 1
done

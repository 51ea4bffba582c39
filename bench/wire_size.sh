#!/usr/bin/env bash
# Bytes on the wire per event (protobuf, in batches) vs the bytes of the
# packets each event summarises, per event type, on the generated workload.
#
#   bench/wire_size.sh [--packets N] [--seed S] [--batch B]
#
# Build first: ninja -C build/bench tapir tapir-gen-workload tapir-bench-wire
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD=${BUILD:-$ROOT/build/bench}
PACKETS=1000000
SEED=1
BATCH=100
while (($#)); do
  case $1 in
    --packets) PACKETS=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    --batch) BATCH=$2; shift 2 ;;
    *) echo "wire_size: unknown option $1" >&2; exit 2 ;;
  esac
done
WORK=$(mktemp -d /tmp/tapir-wire.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
"$BUILD/tools/gen_workload/tapir-gen-workload" --packets "$PACKETS" --seed "$SEED" \
  --out "$WORK/w.pcap" --summary "$WORK/summary.tsv"
"$BUILD/apps/tapir/tapir" decode "$WORK/w.pcap" --format pb -o "$WORK/events.pb" -q
[ -s "$WORK/events.pb" ] || { echo "wire_size: tapir decode wrote no events" >&2; exit 1; }
"$BUILD/bench/wire/tapir-bench-wire" "$WORK/events.pb" --pcap "$WORK/w.pcap" --batch "$BATCH" \
  >"$WORK/wire.tsv"
grep -v '^#' "$WORK/wire.tsv" | column -t -s $'\t'
grep '^#' "$WORK/wire.tsv"

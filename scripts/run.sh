#!/usr/bin/env bash
# Decodes the bundled sample capture(s) with `tapir decode` and prints the
# summary and a few events. Expects a built tree (BUILD, default build/release).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD=${BUILD:-$ROOT/build/release}
TAPIR="$BUILD/apps/tapir/tapir"
OUT=${OUT:-$BUILD/run}

if [ ! -x "$TAPIR" ]; then
  echo "run.sh: $TAPIR not found; build first (./dev build)" >&2
  exit 1
fi
shopt -s nullglob
samples=("$ROOT"/samples/*.pcap "$ROOT"/samples/*.pcapng)
if ((${#samples[@]} == 0)); then
  echo "run.sh: no capture in $ROOT/samples" >&2
  exit 1
fi
mkdir -p "$OUT"

for pcap in "${samples[@]}"; do
  name=$(basename "${pcap%.*}")
  echo "== tapir decode $pcap"
  "$TAPIR" decode --quiet --summary -o "$OUT/$name.json" "$pcap"
  echo "-- events written to $OUT/$name.json; one of each type:"
  # The first line of each event type, shortened for the terminal.
  awk -F'"' '!seen[$2]++ { print substr($0, 1, 200) (length($0) > 200 ? "..." : "") }' \
    "$OUT/$name.json"
  echo
done

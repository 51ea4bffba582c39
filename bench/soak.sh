#!/usr/bin/env bash
# Soak under faults: a paced replay of DURATION seconds (default 1800) from
# tapir-agent to a tapir-collector on loopback, while the collector is killed
# (SIGKILL, every third time SIGTERM) and restarted every 20 s and another
# process holds the store's write lock for 12 s every other cycle. At the end
# it checks that every event `tapir decode` makes of the capture is stored
# once, and prints the agent's and the collector's RSS through the run.
#
#   bench/soak.sh [DURATION]
#
# Build first: ninja -C build/release agent_soak_test tapir-agent tapir-collector tapir tapir-gen-workload
# Loopback only; bounded by DURATION plus the final drain.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD=${BUILD:-$ROOT/build/release}
DURATION=${1:-1800}
TEST="$BUILD/tests/agent/agent_soak_test"
[ -x "$TEST" ] || { echo "soak: $TEST not built" >&2; exit 2; }
TAPIR_SOAK_SECONDS=$DURATION exec "$TEST" --gtest_filter='AgentFaults.Soak*'

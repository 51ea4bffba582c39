#!/usr/bin/env bash
# The whole test suite: called by `./dev test` after set-up.
#
# Stages (each reports its own result; the last line sums them up):
#   release  RelWithDebInfo build, every CTest test
#   asan     ASan+UBSan build, every test except the slow live/e2e/ui ones
#   extra    scripts/test-stages/*.sh (fuzzing, cross matrix, UI ...), each one stage
# Set STAGES="release asan" (etc.) to run only some.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CCACHE_BASEDIR="$ROOT" CCACHE_NOHASHDIR=1
JOBS=${JOBS:-$(nproc)}
STAGES=${STAGES:-"release asan extra"}
passed=0
failed=0
failures=()

log() { printf '\033[1m[test]\033[0m %s\n' "$*" >&2; }

# ctest_stage NAME BUILD_DIR "cmake args" "ctest args"
ctest_stage() {
  local name=$1 dir=$2 cargs=$3 targs=$4
  log "stage $name: building in $dir"
  if [ ! -f "$dir/build.ninja" ]; then
    # shellcheck disable=SC2086
    cmake -S "$ROOT" -B "$dir" -G Ninja $cargs >/dev/null || { failures+=("$name: configure"); failed=$((failed+1)); return; }
  fi
  if ! ninja -C "$dir" -j "$JOBS" >"$dir.build.log" 2>&1; then
    tail -50 "$dir.build.log"
    failures+=("$name: build"); failed=$((failed+1)); return
  fi
  log "stage $name: running tests"
  local out="$dir.ctest.log"
  # shellcheck disable=SC2086
  (cd "$dir" && ctest -j "$JOBS" --output-on-failure --timeout 600 $targs) >"$out" 2>&1
  grep -E '\*\*\*|tests passed|tests failed' "$out" || true
  # ctest's own summary: "NN% tests passed, F tests failed out of T".
  local summary p f t
  summary=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$out" | tail -n1)
  if [ -z "$summary" ]; then
    tail -n 30 "$out"
    failures+=("$name: ctest did not finish, see $out"); failed=$((failed+1)); return
  fi
  f=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$summary")
  t=$(sed -E 's/.* failed out of ([0-9]+).*/\1/' <<<"$summary")
  p=$((t - f))
  ((f > 0)) && failures+=("$name: $f failed test(s), see $out")
  passed=$((passed+p)); failed=$((failed+f))
}

stage_start() { STAGE_T0=$(date +%s); }
stage_end() { log "$1 took $(( $(date +%s) - STAGE_T0 )) s"; }

for stage in $STAGES; do
  stage_start
  case $stage in
    release) ctest_stage release "$ROOT/build/release" "-DCMAKE_BUILD_TYPE=RelWithDebInfo" "" ;;
    asan) ctest_stage asan "$ROOT/build/asan" "-DCMAKE_BUILD_TYPE=Debug -DTAPIR_SANITIZE=ON -DTAPIR_BENCH=OFF" "-LE live|e2e|ui|slow" ;;
    extra)
      for s in "$ROOT"/scripts/test-stages/*.sh; do
        [ -e "$s" ] || continue
        n=$(basename "$s" .sh)
        log "stage $n"
        t0=$(date +%s)
        if bash "$s"; then passed=$((passed+1)); else failures+=("$n"); failed=$((failed+1)); fi
        log "$n took $(( $(date +%s) - t0 )) s"
      done ;;
  esac
  stage_end "$stage"
done

for f in "${failures[@]}"; do log "FAILED: $f"; done
echo "$passed passed, $failed failed"
((failed == 0))

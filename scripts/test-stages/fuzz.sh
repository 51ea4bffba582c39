#!/usr/bin/env bash
# Builds every libFuzzer target with clang (ASan+UBSan+fuzzer instrumentation)
# and runs each for a bounded time, seeded from fuzz/<area>/corpus/<name>/ and,
# for frame-level targets, the test corpus captures. A crash, leak or timeout
# fails the stage and leaves the reproducer in build/fuzz/artifacts/.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD="$ROOT/build/fuzz"
SECONDS_PER_TARGET=${FUZZ_SECONDS:-10}
export CCACHE_BASEDIR="$ROOT" CCACHE_NOHASHDIR=1

if [ ! -f "$BUILD/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DTAPIR_FUZZ=ON -DTAPIR_SANITIZE=ON -DTAPIR_TESTS=OFF -DTAPIR_BENCH=OFF -DTAPIR_WERROR=OFF \
    >/dev/null || exit 1
fi
mapfile -t targets < <(grep -v '^$' "$BUILD/fuzzers.txt" 2>/dev/null)
((${#targets[@]})) || { echo "fuzz: no targets"; exit 1; }
ninja -C "$BUILD" -j "${JOBS:-$(nproc)}" "${targets[@]}" >"$BUILD.build.log" 2>&1 || { tail -40 "$BUILD.build.log"; exit 1; }

mkdir -p "$BUILD/artifacts"
fail=0
for t in "${targets[@]}"; do
  bin=$(find "$BUILD" -type f -name "$t" -perm -u+x | head -n1)
  name=${t#fuzz_}
  seeds=$(find "$ROOT/fuzz" -type d -path "*/corpus/$name" | head -n1)
  work="$BUILD/corpus/$name"
  mkdir -p "$work"
  args=("$work")
  [ -n "$seeds" ] && args+=("$seeds")
  if out=$("$bin" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$BUILD/artifacts/$name-" -print_final_stats=1 "${args[@]}" 2>&1); then
    runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' <<<"$out" | grep -oE '[0-9]+$')
    echo "fuzz $name: ok (${runs:-?} runs in ${SECONDS_PER_TARGET}s)"
  else
    echo "fuzz $name: FAILED"; tail -30 <<<"$out"; fail=1
  fi
done
exit $fail

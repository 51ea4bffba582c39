#!/usr/bin/env bash
# The portability matrix: builds the agent-side set (capture, decode, flow,
# analyzers, export, `tapir decode`) natively and for aarch64, armhf and
# riscv64 with Debian 12's cross toolchains, runs the agent's tests under
# qemu-user, and checks that `tapir decode` prints byte-identical JSON lines on
# every architecture for every capture in the test corpus, and that each
# foreign agent with the gRPC exporter delivers the corpus to the native
# collector over mutual TLS.
#
#   tools/cross/matrix.sh [ARCH...]      default: x86_64 aarch64 armhf riscv64
#
# Exit status is non-zero if any cell of the matrix fails.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TESTDATA=${TAPIR_TESTDATA:-$ROOT/tests/corpus}
JOBS=${JOBS:-$(nproc)}
export CCACHE_BASEDIR="$ROOT" CCACHE_NOHASHDIR=1
archs=("$@")
((${#archs[@]})) || archs=(x86_64 aarch64 armhf riscv64)

# Tests that cannot run under qemu-user or need the collector side.
EXCLUDE_LABELS='live|e2e|ui|integration|slow'

declare -A result_build result_built result_tests result_same
out_dir="$ROOT/build/cross-out"
mkdir -p "$out_dir"

log() { printf '\033[1m[cross]\033[0m %s\n' "$*" >&2; }

sysroot_for() {
  local arch=$1
  case $arch in
    aarch64) "$ROOT/tools/cross/sysroot.sh" arm64 "$ROOT/build/sysroot-arm64" >&2 && echo "$ROOT/build/sysroot-arm64" ;;
    armhf) "$ROOT/tools/cross/sysroot.sh" armhf "$ROOT/build/sysroot-armhf" >&2 && echo "$ROOT/build/sysroot-armhf" ;;
    riscv64) "$ROOT/tools/cross/build-deps-from-source.sh" riscv64 "$ROOT/build/sysroot-riscv64" >&2 && echo "$ROOT/build/sysroot-riscv64" ;;
  esac
}

# The native reference is the release build's own `tapir` (its tests run in
# the release stage of the test suite), so x86_64 is not built twice.
dir_for() { [ "$1" = x86_64 ] && echo "$ROOT/build/release" || echo "$ROOT/build/cross-$1"; }

build_arch() {
  local arch=$1 dir
  dir=$(dir_for "$arch")
  if [ "$arch" = x86_64 ]; then
    [ -f "$dir/build.ninja" ] || cmake -S "$ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$dir.configure.log" 2>&1 || return 1
    ninja -C "$dir" -j "$JOBS" tapir tapir-agent tapir-collector >"$dir.matrix-build.log" 2>&1 || { tail -30 "$dir.matrix-build.log" >&2; return 1; }
    result_built[$arch]="tapir,tapir-agent(gRPC)"
    return 0
  fi
  # The agent ships its gRPC exporter wherever Debian packages gRPC for the
  # architecture (arm64, armhf); riscv64 builds from source without it.
  local grpc=ON
  [ "$arch" = riscv64 ] && grpc=OFF
  local dir="$ROOT/build/cross-$arch" args=(-DTAPIR_AGENT_ONLY=ON -DTAPIR_WITH_GRPC=$grpc -DTAPIR_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo)
  local sysroot
  sysroot=$(sysroot_for "$arch") || return 1
  args+=(-DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/toolchains/$arch.cmake" -DTAPIR_SYSROOT="$sysroot")
  # Configure every time: cached options from an earlier run must not win over these.
  cmake -S "$ROOT" -B "$dir" -G Ninja "${args[@]}" >"$dir.configure.log" 2>&1 || { tail -20 "$dir.configure.log" >&2; return 1; }
  ninja -C "$dir" -j "$JOBS" >"$dir.build.log" 2>&1 || { tail -30 "$dir.build.log" >&2; return 1; }
  local built=tapir
  [ -x "$dir/apps/tapir-agent/tapir-agent" ] && built+=",tapir-agent"
  [ $grpc = ON ] && built+="(gRPC)"
  result_built[$arch]=$built
}

run_tests() {
  local arch=$1 dir
  dir=$(dir_for "$arch")
  (cd "$dir" && ctest -j "$JOBS" -LE "$EXCLUDE_LABELS" --timeout 900 --output-on-failure) >"$dir.ctest.log" 2>&1
  local rc=$?
  grep -E 'tests passed|tests failed' "$dir.ctest.log" >&2
  ((rc == 0)) || grep -E '\*\*\*|Failed' "$dir.ctest.log" | head -20 >&2
  return $rc
}

# Sets `emu` to the command that runs ARCH's binaries: the same emulator
# command the toolchain files give CTest (nothing for x86_64).
emu_for() {
  case $1 in
    aarch64) emu=(qemu-aarch64-static -L /usr/aarch64-linux-gnu -E "LD_LIBRARY_PATH=$ROOT/build/sysroot-arm64/usr/lib/aarch64-linux-gnu:$ROOT/build/sysroot-arm64/lib/aarch64-linux-gnu") ;;
    armhf) emu=(qemu-arm-static -L /usr/arm-linux-gnueabihf -E "LD_LIBRARY_PATH=$ROOT/build/sysroot-armhf/usr/lib/arm-linux-gnueabihf:$ROOT/build/sysroot-armhf/lib/arm-linux-gnueabihf") ;;
    riscv64) emu=(qemu-riscv64-static -L /usr/riscv64-linux-gnu) ;;
    *) emu=() ;;
  esac
}

# Decodes every corpus capture; output per capture in build/cross-out/<arch>/.
decode_corpus() {
  local arch=$1 dir
  dir=$(dir_for "$arch")
  emu_for "$arch"
  local bin="$dir/apps/tapir/tapir"
  rm -rf "${out_dir:?}/$arch" && mkdir -p "$out_dir/$arch"
  local n=0
  while IFS= read -r -d '' pcap; do
    local rel=${pcap#"$TESTDATA"/}
    local key=${rel//\//__}
    "${emu[@]}" "$bin" decode --quiet --format json -o "$out_dir/$arch/$key.jsonl" "$pcap" \
      >/dev/null 2>"$out_dir/$arch/$key.err"
    echo "exit=$?" >>"$out_dir/$arch/$key.err"
    n=$((n+1))
  done < <(find "$TESTDATA" -type f \( -name '*.pcap' -o -name '*.pcapng' \) -print0 | sort -z)
  echo "$n"
}

# The foreign agent's gRPC exporter, end to end: the agent runs under qemu,
# replays the whole corpus over mutual TLS to the native collector, and the
# collector must have stored, per event type, exactly as many events as the
# native `tapir decode` printed for the same captures.
export_check() {
  local arch=$1 dir tmp port cpid
  dir=$(dir_for "$arch")
  local agent="$dir/apps/tapir-agent/tapir-agent" rel="$ROOT/build/release/apps"
  [ -x "$agent" ] && [ -x "$rel/tapir-collector/tapir-collector" ] || return 1
  tmp=$(mktemp -d)
  "$rel/tapir/tapir" certs init --dir "$tmp/pki" --collector-name localhost --agent agent-1 >/dev/null || return 1
  "$rel/tapir-collector/tapir-collector" --db "$tmp/db" --listen 127.0.0.1:0 --api-listen 127.0.0.1:0 \
    --cert "$tmp/pki/collector.pem" --key "$tmp/pki/collector.key" --ca "$tmp/pki/ca.pem" >"$tmp/collector.log" 2>&1 &
  cpid=$!
  for _ in $(seq 100); do
    port=$(sed -n 's/.*ingest on port \([0-9]*\).*/\1/p' "$tmp/collector.log" | head -n1)
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { kill "$cpid"; cat "$tmp/collector.log" >&2; return 1; }
  local args=()
  while IFS= read -r -d '' pcap; do args+=(--read "$pcap"); done \
    < <(find "$TESTDATA" -type f \( -name '*.pcap' -o -name '*.pcapng' \) -print0 | sort -z)
  # Damaged captures make the agent exit 1 after exporting the rest; the counts decide.
  emu_for "$arch"
  "${emu[@]}" "$agent" --id agent-1 --collector "127.0.0.1:$port" --server-name localhost \
    --ca "$tmp/pki/ca.pem" --cert "$tmp/pki/agents/agent-1.pem" --key "$tmp/pki/agents/agent-1.key" \
    --spool-dir "$tmp/spool" "${args[@]}" >"$out_dir/$arch.agent.log" 2>&1
  kill "$cpid"; wait "$cpid" 2>/dev/null
  local want got ok=0 type n
  want=$(cat "$out_dir"/x86_64/*.jsonl | sed -n 's/^{"\([a-zA-Z]*\)".*/\1/p' | sort | uniq -c)
  [ -n "$want" ] || ok=1
  while read -r n type; do
    got=$(sqlite3 "$tmp/db" "SELECT COUNT(*) FROM \"$type\"" 2>&1)
    if [ "$got" != "$n" ]; then
      echo "$arch export: $type: collector stored $got, decode printed $n" >&2; ok=1
    fi
  done <<<"$want"
  ((ok == 0)) && echo "$(awk '{s+=$1} END {print s}' <<<"$want")"
  rm -rf "$tmp"
  return $ok
}

for arch in "${archs[@]}"; do
  log "$arch: building"
  if build_arch "$arch"; then result_build[$arch]=ok; else result_build[$arch]=FAIL; continue; fi
  if [ "$arch" = x86_64 ]; then
    result_tests[$arch]=ok  # the release stage runs the native tests
  else
    log "$arch: tests"
    if run_tests "$arch"; then result_tests[$arch]=ok; else result_tests[$arch]=FAIL; fi
  fi
  log "$arch: decoding the corpus"
  count=$(decode_corpus "$arch")
  log "$arch: $count captures decoded"
done

if [[ " ${archs[*]} " == *" x86_64 "* ]]; then
  for arch in "${archs[@]}"; do
    [ "$arch" = x86_64 ] && { result_same[$arch]=reference; continue; }
    [ "${result_build[$arch]:-}" = ok ] || { result_same[$arch]=-; continue; }
    if diff -r -q "$out_dir/x86_64" "$out_dir/$arch" >"$out_dir/$arch.diff" 2>&1; then
      result_same[$arch]="identical ($(ls "$out_dir/$arch"/*.jsonl | wc -l) files)"
    else
      result_same[$arch]="DIFFERS"; head -20 "$out_dir/$arch.diff" >&2
    fi
  done
  # The reference must not be empty: a decoder that printed nothing everywhere would compare equal.
  if [ -z "$(find "$out_dir/x86_64" -name '*.jsonl' -size +0 | head -n1)" ]; then
    result_same[x86_64]="EMPTY"
  fi
fi

# gRPC export from each foreign agent that has it, against the native collector.
declare -A result_export
if [[ " ${archs[*]} " == *" x86_64 "* ]]; then
  for arch in "${archs[@]}"; do
    [ "$arch" = x86_64 ] && continue
    [[ ${result_built[$arch]:-} == *"(gRPC)"* ]] || continue
    log "$arch: agent exports the corpus to the native collector"
    if n=$(export_check "$arch"); then result_export[$arch]="exported $n events"; else result_export[$arch]=FAIL; fi
  done
fi

status=0
printf '\n%-10s %-8s %-28s %-8s %-24s %s\n' arch build built tests "gRPC export" "decode output vs x86_64"
for arch in "${archs[@]}"; do
  b=${result_build[$arch]:-FAIL} t=${result_tests[$arch]:--} s=${result_same[$arch]:--}
  e=${result_export[$arch]:--}
  printf '%-10s %-8s %-28s %-8s %-24s %s\n' "$arch" "$b" "${result_built[$arch]:--}" "$t" "$e" "$s"
  [[ $b == ok && $t == ok && $s != DIFFERS && $s != EMPTY && $e != FAIL ]] || status=1
done
exit $status

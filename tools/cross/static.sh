#!/usr/bin/env bash
# The statically linked agent-side tool (`tapir`, everything but glibc linked
# in) for x86_64 and aarch64: builds it, checks what it still loads
# dynamically, checks its output equals the dynamic build's on the corpus, and
# reports size and peak resident memory while decoding the corpus.
#
#   tools/cross/static.sh [ARCH...]     default: x86_64 aarch64
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TESTDATA=${TAPIR_TESTDATA:-$ROOT/tests/corpus}
JOBS=${JOBS:-$(nproc)}
export CCACHE_BASEDIR="$ROOT" CCACHE_NOHASHDIR=1
archs=("$@")
((${#archs[@]})) || archs=(x86_64 aarch64)
status=0
log() { printf '\033[1m[static]\033[0m %s\n' "$*" >&2; }

mapfile -t pcaps < <(find "$TESTDATA" -type f \( -name '*.pcap' -o -name '*.pcapng' \) | sort)
printf '\n%-8s %-10s %-12s %-14s %-22s %s\n' arch size stripped "peak RSS" "dynamic deps" "output vs x86_64 dynamic"
# The dynamically linked release build, for comparison.
dyn="$ROOT/build/release/apps/tapir/tapir"
if [ -x "$dyn" ]; then
  /usr/bin/time -f '%M' -o "$ROOT/build/static-dynamic.rss" "$dyn" decode --quiet -o /dev/null "${pcaps[@]}" >/dev/null 2>&1
  strip -o "$ROOT/build/static-dynamic.stripped" "$dyn"
  printf '%-8s %-10s %-12s %-14s %-22s %s\n' "x86_64" "$(($(stat -c %s "$dyn") / 1024)) KiB" \
    "$(($(stat -c %s "$ROOT/build/static-dynamic.stripped") / 1024)) KiB" "$(tail -n1 "$ROOT/build/static-dynamic.rss") KiB" \
    "$(readelf -d "$dyn" | grep -c 'Shared library') libraries" "(the dynamic release build, RelWithDebInfo)"
fi
for arch in "${archs[@]}"; do
  pcapdir="$ROOT/build/static-pcap-$arch"
  ONLY=libpcap "$ROOT/tools/cross/build-deps-from-source.sh" "$arch" "$pcapdir" >&2 || { status=1; continue; }
  dir="$ROOT/build/static-$arch"
  args=(-DTAPIR_AGENT_ONLY=ON -DTAPIR_WITH_GRPC=OFF -DTAPIR_TESTS=OFF -DTAPIR_BENCH=OFF -DTAPIR_STATIC=ON
        -DCMAKE_BUILD_TYPE=Release -DTAPIR_STATIC_PCAP_DIR="$pcapdir")
  emu=()
  if [ "$arch" != x86_64 ]; then
    "$ROOT/tools/cross/sysroot.sh" arm64 "$ROOT/build/sysroot-arm64" >&2
    args+=(-DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/toolchains/$arch.cmake" -DTAPIR_SYSROOT="$ROOT/build/sysroot-arm64")
    emu=(qemu-aarch64-static -L /usr/aarch64-linux-gnu)
  fi
  if [ ! -f "$dir/build.ninja" ]; then
    cmake -S "$ROOT" -B "$dir" -G Ninja "${args[@]}" >"$dir.configure.log" 2>&1 || { tail -20 "$dir.configure.log"; status=1; continue; }
  fi
  ninja -C "$dir" -j "$JOBS" tapir >"$dir.build.log" 2>&1 || { tail -30 "$dir.build.log"; status=1; continue; }
  bin="$dir/apps/tapir/tapir"
  size=$(stat -c %s "$bin")
  strip_tool=strip; [ "$arch" = aarch64 ] && strip_tool=aarch64-linux-gnu-strip
  $strip_tool -o "$bin.stripped" "$bin"
  ssize=$(stat -c %s "$bin.stripped")
  deps=$(readelf -d "$bin" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | tr '\n' ' ')
  # Peak RSS over the whole corpus in one process (multiple files = one run).
  # Under qemu-user this is the emulator's RSS, the program's included.
  /usr/bin/time -f '%M' -o "$dir.rss" "${emu[@]}" "$bin" decode --quiet -o /dev/null "${pcaps[@]}" >/dev/null 2>&1
  rss=$(tail -n1 "$dir.rss")
  # Same events as the dynamic x86_64 build, file by file.
  same=ok
  ref="$ROOT/build/release/apps/tapir/tapir"
  if [ -x "$ref" ]; then
    for p in "${pcaps[@]}"; do
      if ! cmp -s <("${emu[@]}" "$bin" decode --quiet "$p" 2>/dev/null) <("$ref" decode --quiet "$p" 2>/dev/null); then
        same="DIFFERS ($(basename "$p"))"; status=1; break
      fi
    done
  else
    same="(no release build to compare)"
  fi
  case " $deps " in *" libstdc++"*|*" libpcap"*|*" libprotobuf"*|*" libcrypto"*) status=1 ;; esac
  printf '%-8s %-10s %-12s %-14s %-22s %s\n' "$arch" "$((size / 1024)) KiB" "$((ssize / 1024)) KiB" "${rss} KiB" "${deps:-none}" "$same"
done
exit $status

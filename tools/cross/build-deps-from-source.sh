#!/usr/bin/env bash
# Builds the agent's third-party libraries for an architecture that Debian 12
# has no binary packages for (riscv64 became a release architecture only in
# Debian 13), from Debian 12's own *source* packages, as static libraries in
# a private sysroot laid out like the unpacked ones of tools/cross/sysroot.sh.
#
#   tools/cross/build-deps-from-source.sh riscv64 DIR
#   ONLY=libpcap tools/cross/build-deps-from-source.sh x86_64|aarch64 DIR
#
# The second form serves the statically linked agent: Debian's libpcap.a
# needs libdbus-1.a, which needs a libsystemd.a that Debian does not ship, so
# a static link against it cannot succeed; this libpcap has no D-Bus part.
#
# libpcap is built without D-Bus/RDMA/Bluetooth capture (nothing to link them
# against); protobuf without protoc (the host's protoc generates the code);
# OpenSSL without shared libraries, tests and docs. GoogleTest comes from the
# host's /usr/src/googletest (package googletest), same version as Debian's.
set -euo pipefail
arch=$1
dir=$2
case $arch in
  riscv64) triple=riscv64-linux-gnu; ossl_target=linux64-riscv64 ;;
  x86_64) triple=x86_64-linux-gnu; ossl_target=linux-x86_64 ;;
  aarch64) triple=aarch64-linux-gnu; ossl_target=linux-aarch64 ;;
  *) echo "unsupported: $arch" >&2; exit 2 ;;
esac
cache=${TAPIR_CROSS_CACHE:-$HOME/.cache/tapir-cross}
src="$cache/src"
work="$cache/build-$arch"
libdir="$dir/usr/lib/$triple"
stamp="$dir/.complete"
only=${ONLY:-}
key="libpcap protobuf openssl googletest json v2 ${only}"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ]; then exit 0; fi

jobs=${JOBS:-$(nproc)}
export CC=$triple-gcc CXX=$triple-g++ AR=$triple-ar RANLIB=$triple-ranlib
command -v ccache >/dev/null && export CC="ccache $CC" CXX="ccache $CXX"
mkdir -p "$src" "$work" "$libdir"

fetch() {  # fetch PKG -> prints the unpacked source dir
  local pkg=$1
  if ! compgen -G "$src/$pkg-[0-9]*/" >/dev/null; then
    if ! grep -rqs '^Types: deb-src' /etc/apt/sources.list.d/ && ! grep -qs '^deb-src' /etc/apt/sources.list; then
      printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
        >/etc/apt/sources.list.d/tapir-debsrc.sources
      apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null || true
    fi
    (cd "$src" && apt-get source -q "$pkg" >/dev/null 2>&1)
  fi
  compgen -G "$src/$pkg-[0-9]*/" | head -n1
}

log() { echo "[deps-$arch] $*" >&2; }

# libpcap
if [ ! -f "$libdir/libpcap.a" ]; then
  d=$(fetch libpcap); log "libpcap from $d"
  rm -rf "$work/libpcap" && mkdir -p "$work/libpcap"
  (cd "$work/libpcap" && cmake "$d" -G Ninja -DCMAKE_SYSTEM_NAME=Linux -DCMAKE_C_COMPILER=$triple-gcc \
     -DCMAKE_INSTALL_PREFIX="$dir/usr" -DCMAKE_INSTALL_LIBDIR="lib/$triple" -DBUILD_SHARED_LIBS=OFF \
     -DDISABLE_DBUS=ON -DDISABLE_RDMA=ON -DDISABLE_BLUETOOTH=ON -DDISABLE_USB=ON -DDISABLE_NETMAP=ON \
     -DDISABLE_DPDK=ON -DENABLE_REMOTE=OFF -DPCAP_TYPE=linux -DBUILD_WITH_LIBNL=OFF >/dev/null &&
   ninja -j "$jobs" pcap_static >/dev/null && mkdir -p "$dir/usr/include" &&
   cp libpcap.a "$libdir/libpcap.a" && cp -r "$d/pcap" "$d/pcap.h" "$dir/usr/include/")
  mkdir -p "$libdir/pkgconfig"
  printf 'prefix=%s/usr\nlibdir=${prefix}/lib/%s\nincludedir=${prefix}/include\nName: libpcap\nDescription: packet capture (static, %s)\nVersion: 1.10.3\nLibs: -L${libdir} -lpcap\nCflags: -I${includedir}\n' \
    "$dir" "$triple" "$arch" >"$libdir/pkgconfig/libpcap.pc"
fi

if [ "$only" = libpcap ]; then
  echo "$key" >"$stamp"
  log "done: $dir (libpcap only)"
  exit 0
fi

# OpenSSL (libcrypto + libssl)
if [ ! -f "$libdir/libcrypto.a" ]; then
  d=$(fetch openssl); log "openssl from $d"
  rm -rf "$work/openssl" && cp -r "$d" "$work/openssl"
  (cd "$work/openssl" && ./Configure "$ossl_target" no-shared no-tests no-module \
     --prefix="$dir/usr" --libdir="lib/$triple" --cross-compile-prefix= >/dev/null &&
   make -j "$jobs" build_libs >/dev/null && make install_dev >/dev/null)
fi

# protobuf (library only)
if [ ! -f "$libdir/libprotobuf.a" ]; then
  d=$(fetch protobuf); log "protobuf from $d"
  rm -rf "$work/protobuf" && mkdir -p "$work/protobuf"
  (cd "$work/protobuf" && cmake "$d" -G Ninja -DCMAKE_SYSTEM_NAME=Linux -DCMAKE_SYSTEM_PROCESSOR=$arch \
     -DCMAKE_C_COMPILER=$triple-gcc -DCMAKE_CXX_COMPILER=$triple-g++ -DCMAKE_BUILD_TYPE=Release \
     -DCMAKE_INSTALL_PREFIX="$dir/usr" -DCMAKE_INSTALL_LIBDIR="lib/$triple" -Dprotobuf_BUILD_TESTS=OFF \
     -Dprotobuf_BUILD_PROTOC_BINARIES=OFF -Dprotobuf_BUILD_SHARED_LIBS=OFF -Dprotobuf_WITH_ZLIB=OFF \
     -DCMAKE_POSITION_INDEPENDENT_CODE=ON >/dev/null &&
   ninja -j "$jobs" libprotobuf >/dev/null && ninja install >/dev/null 2>&1 || true)
  [ -f "$libdir/libprotobuf.a" ] || { echo "protobuf build failed" >&2; exit 1; }
fi

# GoogleTest
if [ ! -f "$libdir/libgtest.a" ]; then
  log "googletest from /usr/src/googletest"
  rm -rf "$work/gtest" && mkdir -p "$work/gtest"
  (cd "$work/gtest" && cmake /usr/src/googletest -G Ninja -DCMAKE_SYSTEM_NAME=Linux \
     -DCMAKE_C_COMPILER=$triple-gcc -DCMAKE_CXX_COMPILER=$triple-g++ -DCMAKE_BUILD_TYPE=Release \
     -DCMAKE_INSTALL_PREFIX="$dir/usr" -DCMAKE_INSTALL_LIBDIR="lib/$triple" >/dev/null &&
   ninja -j "$jobs" >/dev/null && ninja install >/dev/null)
fi

# nlohmann-json (header-only, Debian's arch-independent package), for the tests.
if [ ! -d "$dir/usr/include/nlohmann" ]; then
  (cd "$cache" && { compgen -G "nlohmann-json3-dev_*_all.deb" >/dev/null || apt-get download -q nlohmann-json3-dev >/dev/null; } &&
   dpkg-deb -x "$(compgen -G "nlohmann-json3-dev_*_all.deb" | head -n1)" "$dir")
fi

echo "$key" >"$stamp"
log "done: $dir"

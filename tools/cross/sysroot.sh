#!/usr/bin/env bash
# Builds a library sysroot for one foreign architecture out of Debian 12's
# own packages, without installing them with dpkg.
#
#   tools/cross/sysroot.sh ARCH DIR      ARCH: arm64 | armhf
#
# Why not `apt-get install libpcap-dev:arm64`: multiarch needs every shared
# "Multi-Arch: same" package at the identical version for all architectures,
# so any moment when the archive's arm64 index lags the amd64 one (a security
# update mid-sync) makes the install impossible. Downloading the .debs and
# unpacking them into a private sysroot has no such coupling. The C library,
# libstdc++ and libgcc come from the cross toolchain (/usr/<triple>), so they
# are left out here.
set -euo pipefail
arch=$1
dir=$2
cache=${TAPIR_CROSS_CACHE:-$HOME/.cache/tapir-cross}/debs-$arch
stamp="$dir/.complete"
roots=(libpcap-dev libprotobuf-dev libssl-dev libgtest-dev zlib1g-dev)
# The agent's gRPC exporter and YAML configuration. protobuf-compiler-grpc is
# unpacked only because gRPC's CMake package checks that its plugin exists;
# code generation runs the build machine's plugin.
roots+=(libgrpc++-dev protobuf-compiler-grpc libyaml-cpp-dev)
skip='^(libc6|libc6-dev|libc-dev-bin|linux-libc-dev|libcrypt-dev|libcrypt1|libnsl-dev|libtirpc-dev|rpcsvc-proto|gcc-12-base|libgcc-s1|libstdc\+\+6|pkg-config|pkgconf|pkgconf-bin|libpkgconf3|sed)$'

want_key="${roots[*]} +json"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want_key" ]; then
  exit 0
fi

if ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
  dpkg --add-architecture "$arch"
  apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null || true
fi
if ! apt-cache show "libpcap-dev:$arch" >/dev/null 2>&1; then
  apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null || true
fi

mapfile -t pkgs < <(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
  --no-breaks --no-replaces --no-enhances --no-pre-depends "${roots[@]/%/:$arch}" 2>/dev/null |
  grep -E "^[a-z0-9][^ ]*:$arch\$" | sed "s/:$arch\$//" | sort -u | grep -Ev "$skip")

mkdir -p "$cache"
(
  cd "$cache"
  missing=()
  for p in "${pkgs[@]}"; do
    compgen -G "${p}_*_${arch}.deb" >/dev/null || compgen -G "${p}_*_all.deb" >/dev/null || missing+=("$p:$arch")
  done
  if ((${#missing[@]})); then
    apt-get download -q "${missing[@]}" >/dev/null
  fi
)

# Architecture-independent packages (headers only) the tests use.
indep=(nlohmann-json3-dev)
(
  cd "$cache"
  for p in "${indep[@]}"; do
    compgen -G "${p}_*_all.deb" >/dev/null || apt-get download -q "$p" >/dev/null
  done
)

rm -rf "$dir"
mkdir -p "$dir"
for p in "${indep[@]}"; do
  for deb in "$cache/${p}"_*_all.deb; do dpkg-deb -x "$deb" "$dir"; done
done
for p in "${pkgs[@]}"; do
  for deb in "$cache/${p}"_*_"$arch".deb "$cache/${p}"_*_all.deb; do
    [ -e "$deb" ] && dpkg-deb -x "$deb" "$dir"
  done
done
# Absolute symlinks (e.g. lib*.so -> /lib/...) must point inside the sysroot.
find "$dir" -type l | while read -r l; do
  t=$(readlink "$l")
  case $t in /*) ln -sfn "$dir$t" "$l" ;; esac
done
echo "$want_key" >"$stamp"
echo "sysroot for $arch: ${#pkgs[@]} packages in $dir"

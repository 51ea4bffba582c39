# Shared part of the Debian 12 cross toolchains. Expects TAPIR_TRIPLE and
# CMAKE_SYSTEM_PROCESSOR set by the per-architecture file, and TAPIR_SYSROOT
# (libraries unpacked by tools/cross/sysroot.sh; may be absent for a build
# that needs no third-party libraries).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_C_COMPILER ${TAPIR_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${TAPIR_TRIPLE}-g++)

if(NOT TAPIR_SYSROOT)
  set(TAPIR_SYSROOT $ENV{TAPIR_SYSROOT})
endif()
# try_compile() re-reads this file in a nested project; hand the sysroot on.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES TAPIR_SYSROOT)
set(_libdir ${TAPIR_SYSROOT}/usr/lib/${TAPIR_TRIPLE})

# The toolchain's own C library lives in /usr/<triple>; third-party libraries in the sysroot.
set(CMAKE_FIND_ROOT_PATH /usr/${TAPIR_TRIPLE} ${TAPIR_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(CMAKE_LIBRARY_ARCHITECTURE ${TAPIR_TRIPLE})

# Headers: Debian keeps arch-specific ones (opensslconf.h) under include/<triple>.
include_directories(SYSTEM ${TAPIR_SYSROOT}/usr/include/${TAPIR_TRIPLE})
set(CMAKE_EXE_LINKER_FLAGS_INIT "-Wl,-rpath-link,${_libdir}:${TAPIR_SYSROOT}/lib/${TAPIR_TRIPLE}")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-Wl,-rpath-link,${_libdir}:${TAPIR_SYSROOT}/lib/${TAPIR_TRIPLE}")

if(TAPIR_SYSROOT)
  set(ENV{PKG_CONFIG_LIBDIR} "${_libdir}/pkgconfig:${TAPIR_SYSROOT}/usr/share/pkgconfig")
  set(ENV{PKG_CONFIG_SYSROOT_DIR} "${TAPIR_SYSROOT}")
endif()

# Code generators run on the build machine.
set(TAPIR_PROTOC /usr/bin/protoc CACHE FILEPATH "host protoc")
set(Protobuf_PROTOC_EXECUTABLE /usr/bin/protoc CACHE FILEPATH "host protoc")

# Tests run under qemu-user; the loader and libc come from the toolchain, the
# rest from the sysroot.
set(CMAKE_CROSSCOMPILING_EMULATOR
    /usr/bin/qemu-${TAPIR_QEMU}-static -L /usr/${TAPIR_TRIPLE}
    -E LD_LIBRARY_PATH=${_libdir}:${TAPIR_SYSROOT}/lib/${TAPIR_TRIPLE})

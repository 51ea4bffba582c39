# Debian 12 cross toolchain for aarch64 (g++-aarch64-linux-gnu).
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(TAPIR_TRIPLE aarch64-linux-gnu)
set(TAPIR_QEMU aarch64)
include(${CMAKE_CURRENT_LIST_DIR}/debian-cross.cmake)

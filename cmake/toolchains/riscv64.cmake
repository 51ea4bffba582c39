# Debian 12 cross toolchain for riscv64 (g++-riscv64-linux-gnu).
set(CMAKE_SYSTEM_PROCESSOR riscv64)
set(TAPIR_TRIPLE riscv64-linux-gnu)
set(TAPIR_QEMU riscv64)
include(${CMAKE_CURRENT_LIST_DIR}/debian-cross.cmake)

# Debian 12 cross toolchain for armhf (g++-arm-linux-gnueabihf).
set(CMAKE_SYSTEM_PROCESSOR armhf)
set(TAPIR_TRIPLE arm-linux-gnueabihf)
set(TAPIR_QEMU arm)
include(${CMAKE_CURRENT_LIST_DIR}/debian-cross.cmake)

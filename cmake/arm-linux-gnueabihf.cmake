# Cross build for 32-bit ARM boards (Raspberry Pi 2 and newer on a 32-bit OS):
# armv7-a with NEON, hard float. Needs crossbuild-essential-armhf only (no armhf
# dpkg architecture):
#   cmake -S . -B build-armv7 -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/arm-linux-gnueabihf.cmake
# Debian's armhf baseline is armv7-a+fp without NEON. The library's baseline
# stays there; kernels/neon/ adds -mfpu=neon to its own files, and dispatch
# checks HWCAP_NEON before calling them.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR armv7l)
set(CMAKE_C_COMPILER arm-linux-gnueabihf-gcc)
set(CMAKE_CXX_COMPILER arm-linux-gnueabihf-g++)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
# The runtime of crossbuild-essential-armhf lives in /usr/arm-linux-gnueabihf.
# cortex-a15 has NEON and VFPv4 (as a Pi 2/3 in 32-bit mode).
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-arm -L /usr/arm-linux-gnueabihf -cpu cortex-a15)

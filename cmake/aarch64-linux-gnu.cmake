# Cross build for 64-bit ARM (armv8-a baseline) with Debian's multiarch
# packages (dpkg --add-architecture arm64; see tools/ci/test-arm.sh):
#   cmake -S . -B build-a64 -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake
# No CMAKE_SYSROOT: CMake derives CMAKE_LIBRARY_ARCHITECTURE from the compiler
# and finds /usr/lib/aarch64-linux-gnu/cmake/<Pkg>/.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
# ctest and gtest_discover_tests run the binaries through qemu-user. The CPU
# model comes from QEMU_CPU (default: max); tests/CMakeLists.txt registers
# every test once per CPU of a matrix. libc6:arm64 provides the loader, so no
# -L is needed (and -L /usr/aarch64-linux-gnu would mix two libc builds).
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64)

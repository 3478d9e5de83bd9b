#!/usr/bin/env bash
# Sanitizer CI: the whole test suite under AddressSanitizer + LeakSanitizer +
# UndefinedBehaviorSanitizer (any UB report fails the test), and the
# threaded tests under ThreadSanitizer. clang-14 (Debian), -j2.
#   build-asan/   -DQGEMM_SANITIZE=address,undefined
#   build-tsan/   -DQGEMM_SANITIZE=thread
# Usage: tools/ci/test-sanitizers.sh [asan|tsan|all]   (from the repo root)
set -euo pipefail

which_builds=${1:-all}
jobs=${QGEMM_CI_JOBS:-2}

need=()
command -v clang++-14 >/dev/null || need+=(clang-14)
[ -e /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.asan-x86_64.a ] ||
  [ -n "$(ls /usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.asan-x86_64.a 2>/dev/null)" ] ||
  need+=(libclang-rt-14-dev)
command -v cmake >/dev/null || need+=(cmake)
command -v ninja >/dev/null || need+=(ninja-build)
[ -e /usr/include/gtest/gtest.h ] || need+=(libgtest-dev googletest)
[ -e /usr/include/cpu_features/cpuinfo_x86.h ] || need+=(libcpu-features-dev)
[ -e /usr/include/xsimd/xsimd.hpp ] || need+=(libxsimd-dev)
[ -e /usr/include/simde/x86/avx512.h ] || need+=(libsimde-dev)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi

# -O1: fast enough to run, keeps stack traces readable.
configure() {  # dir sanitizers
  cmake -S . -B "$1" -G Ninja \
    -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
    -DQGEMM_SANITIZE="$2" -DQGEMM_WERROR=ON \
    -DQGEMM_BUILD_BENCH=OFF -DQGEMM_BUILD_TOOLS=OFF >/dev/null
}

start=$SECONDS
if [ "$which_builds" = all ] || [ "$which_builds" = asan ]; then
  echo "== ASan + LSan + UBSan: whole suite"
  configure build-asan address,undefined
  cmake --build build-asan -j"$jobs"
  export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  (cd build-asan && ctest -j"$jobs" --output-on-failure --timeout 600)
  echo "== ASan/UBSan done at $((SECONDS - start)) s"
fi
if [ "$which_builds" = all ] || [ "$which_builds" = tsan ]; then
  echo "== TSan: threaded tests"
  configure build-tsan thread
  cmake --build build-tsan -j"$jobs"
  export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
  # Every test that starts threads: the concurrency contract, thread-start
  # faults, and the kernel tests with 2 and 4 threads.
  (cd build-tsan && ctest -j"$jobs" --output-on-failure --timeout 600 \
     -R 'Concurrency\.|ThreadStartFailure\.|ContextThreads\.|NoAllocation\.|KernelTest.*_[24]threads_')
  echo "== TSan done at $((SECONDS - start)) s"
fi

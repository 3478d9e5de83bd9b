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

cd "$(dirname "$0")/../.."
. tools/ci/deps.sh
# shellcheck disable=SC2086
qgemm_require_packages $QGEMM_BUILD_PACKAGES clang-14 libclang-rt-14-dev

# -O1: fast enough to run, keeps stack traces readable. Warnings are not
# errors here: the gcc build enforces them, and these builds are about what
# happens at run time (clang warns about a few things gcc does not).
# GNU objdump, not llvm-objdump: the emulated-AVX-512 object check parses
# its output.
configure() {  # dir sanitizers
  cmake -S . -B "$1" -G Ninja \
    -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
    -DQGEMM_SANITIZE="$2" -DQGEMM_WERROR=OFF \
    -DCMAKE_OBJDUMP="$(command -v objdump)" \
    -DQGEMM_BUILD_TESTS=ON -DQGEMM_REQUIRE_TEST_DEPS=ON \
    -DQGEMM_BUILD_BENCH=OFF -DQGEMM_BUILD_TOOLS=OFF -DQGEMM_INSTALL=OFF >/dev/null
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
  # Only the binaries that hold threaded tests.
  cmake --build build-tsan -j"$jobs" --target qgemm_tests qgemm_no_alloc_test
  export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
  # Every test that starts threads: the concurrency contract, thread-start
  # faults, the kernel tests with 2 and 4 threads, the caller's executors
  # and the thread hooks.
  (cd build-tsan && ctest -j"$jobs" --output-on-failure --timeout 600 \
     -R 'Concurrency(PerTable)?\.|ThreadStartFailure\.|ContextThreads\.|NoAllocation\.|KernelTest.*_[24]threads_|Executor|ThreadHooks')
  echo "== TSan done at $((SECONDS - start)) s"
fi

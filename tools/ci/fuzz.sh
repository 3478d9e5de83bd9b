#!/usr/bin/env bash
# Fuzz CI: builds the libFuzzer target over the C API (clang-14,
# -fsanitize=fuzzer,address,undefined; the library instrumented the same
# way) in build-fuzz/ and runs it from the seed corpus for a bounded time.
# A crash leaves its reproducer in build-fuzz/artifacts/: copy it into
# tests/fuzz/regressions/ (the suite replays that folder) and fix the bug.
# Usage: tools/ci/fuzz.sh [seconds]     (default 90; from the repo root)
set -euo pipefail

seconds=${1:-90}
jobs=${QGEMM_CI_JOBS:-2}

cd "$(dirname "$0")/../.."
. tools/ci/deps.sh
# shellcheck disable=SC2086
qgemm_require_packages $QGEMM_BUILD_PACKAGES clang-14 libclang-rt-14-dev

cmake -S . -B build-fuzz -G Ninja \
  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -g" \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g" \
  -DQGEMM_SANITIZE=address,undefined -DQGEMM_BUILD_FUZZ=ON \
  -DQGEMM_BUILD_TESTS=OFF -DQGEMM_BUILD_BENCH=OFF -DQGEMM_BUILD_TOOLS=OFF \
  -DQGEMM_INSTALL=OFF \
  -DQGEMM_WERROR=OFF >/dev/null
cmake --build build-fuzz -j"$jobs" --target qgemm_fuzz_c_api

# The working corpus starts from the seeds each run (the repo's corpus is
# not modified); new inputs the fuzzer finds stay in build-fuzz/corpus.
mkdir -p build-fuzz/corpus build-fuzz/artifacts
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
log=build-fuzz/fuzz.log
set +e
build-fuzz/tests/fuzz/qgemm_fuzz_c_api build-fuzz/corpus tests/fuzz/corpus \
  -max_total_time="$seconds" -max_len=64 -timeout=20 -rss_limit_mb=4096 \
  -malloc_limit_mb=4096 -print_final_stats=1 \
  -artifact_prefix=build-fuzz/artifacts/ 2>&1 | tee "$log" | grep -E '^#|ERROR|contract|SUMMARY|stat::' | tail -40
status=${PIPESTATUS[0]}
set -e
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
echo "fuzz: ${execs:-?} executions in ${seconds} s, exit status ${status}"
if [ "$status" -ne 0 ]; then
  echo "fuzz: FAILED; reproducer(s):" >&2
  ls -l build-fuzz/artifacts/ >&2
  exit 1
fi

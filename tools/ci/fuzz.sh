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
fuzz() {  # seconds log [libFuzzer flags]
  local secs=$1 out=$2
  shift 2
  set +e
  build-fuzz/tests/fuzz/qgemm_fuzz_c_api build-fuzz/corpus tests/fuzz/corpus \
    -max_total_time="$secs" -max_len=64 -timeout=20 -rss_limit_mb=4096 \
    -malloc_limit_mb=4096 -print_final_stats=1 "$@" \
    -artifact_prefix=build-fuzz/artifacts/ 2>&1 | tee "$out" |
    grep -E '^#|ERROR|contract|SUMMARY|stat::|QGEMM_TEST_AMX_TRAP' | tail -40
  status=${PIPESTATUS[0]}
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out" | tail -1)
  echo "fuzz: ${execs:-?} executions in ${secs} s, exit status ${status}"
  if [ "$status" -ne 0 ]; then
    echo "fuzz: FAILED; reproducer(s):" >&2
    ls -l build-fuzz/artifacts/ >&2
    exit 1
  fi
}
fuzz "$seconds" "$log"

# Again with the native amx object under the SIGILL tile trap, where the CPU
# lacks AMX but has its AVX-512 (tests/emulated/amx_trap.h): dispatch then
# takes amx as on an AMX machine. libFuzzer must leave SIGILL to the trap.
# Exit 77: the trap cannot run on this CPU.
trap_seconds=$((seconds / 3))
set +e
QGEMM_TEST_AMX_TRAP=1 build-fuzz/tests/fuzz/qgemm_fuzz_c_api -runs=0 \
  -handle_ill=0 >build-fuzz/fuzz-amx-probe.log 2>&1
probe=$?
set -e
if [ "$probe" -eq 77 ]; then
  echo "fuzz (amx trapped): skipped: $(grep -m1 SKIPPED build-fuzz/fuzz-amx-probe.log)"
else
  QGEMM_TEST_AMX_TRAP=1 fuzz "$trap_seconds" build-fuzz/fuzz-amx.log -handle_ill=0
fi

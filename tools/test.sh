#!/usr/bin/env bash
# Sets everything up (Debian 12; installs missing packages as root) and
# runs all of qgemm's tests. The last lines are ctest's summary of the
# native suite.
#   tools/test.sh            everything CI runs
#   QGEMM_TEST_QUICK=1 tools/test.sh   the native suite only
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/ci/deps.sh
# shellcheck disable=SC2086
qgemm_require_packages $QGEMM_BUILD_PACKAGES $QGEMM_PEER_PACKAGES
jobs=$(nproc)

# A failing step does not stop the others: every failure shows in one run,
# and the native suite's summary still comes last.
failed_steps=()
if [ -z "${QGEMM_TEST_QUICK:-}" ]; then
  for step in tools/ci/test-*.sh tools/ci/fuzz.sh; do
    [ -x "$step" ] || continue
    echo "=== $step"
    "$step" || failed_steps+=("$step")
  done
fi
if ((${#failed_steps[@]})); then
  echo "=== FAILED steps (the native suite runs next): ${failed_steps[*]}"
fi

echo "=== native build and tests"
cmake -S . -B build-test -G Ninja -DCMAKE_BUILD_TYPE=Release -DQGEMM_WERROR=ON \
  -DQGEMM_BUILD_TESTS=ON -DQGEMM_BUILD_TOOLS=ON -DQGEMM_BUILD_BENCH=ON \
  -DQGEMM_REQUIRE_TEST_DEPS=ON
cmake --build build-test -j "$jobs"
cd build-test
ctest -j "$jobs" --output-on-failure --timeout 600 || exit 1
if ((${#failed_steps[@]})); then
  echo "=== native suite passed, but these steps FAILED: ${failed_steps[*]}"
  exit 1
fi

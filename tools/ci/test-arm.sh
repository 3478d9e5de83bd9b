#!/usr/bin/env bash
# Cross-builds qgemm for aarch64 and armv7 (armhf) and runs every test under
# qemu-user: the aarch64 tests once per emulated CPU of the matrix that
# tests/CMakeLists.txt builds from the ISA registry's qemu column
# (dispatch/isa_registry.def) plus "max", the armv7 tests on qemu-arm -cpu
# cortex-a15. Builds the aarch64 benchmark and
# runs one benchmark under qemu as a smoke test (qemu timings mean nothing).
#
# Run from the repository root on Debian 12 as root (installs what it needs):
#   tools/ci/test-arm.sh
# Environment: JOBS (default: nproc), BUILD_A64 (build-aarch64),
# BUILD_ARMV7 (build-armv7), QGEMM_SKIP_APT=1 to skip the package step.
set -euo pipefail

cd "$(dirname "$0")/../.."
JOBS=${JOBS:-$(nproc)}
BUILD_A64=${BUILD_A64:-build-aarch64}
BUILD_ARMV7=${BUILD_ARMV7:-build-armv7}

say() { printf '\n=== %s\n' "$*"; }

# ---- Packages -------------------------------------------------------------
# arm64 libraries come from Debian multiarch; armhf needs only the cross
# compiler (no armhf dpkg architecture: googletest is built from source, and
# cpu_features / Google Benchmark are not used there).
. tools/ci/deps.sh
if [[ "${QGEMM_SKIP_APT:-0}" != 1 ]]; then
  qgemm_require_arch arm64
  qgemm_require_packages cmake ninja-build g++ file qemu-user \
    crossbuild-essential-arm64 libc6:arm64 libstdc++6:arm64 \
    libcpu-features-dev:arm64 googletest libgtest-dev:arm64 libgemmlowp-dev \
    libbenchmark-dev:arm64 libxsimd-dev libxsimd-dev:arm64 \
    crossbuild-essential-armhf
fi

status=0
summaries=()

# ctest_summary DIR LABEL: runs ctest, keeps its last lines for the end.
run_ctest() {
  local dir=$1 label=$2 log
  log=$(mktemp)
  say "ctest: $label ($dir)"
  if (cd "$dir" && ctest -j "$JOBS" --output-on-failure --timeout 600) \
      >"$log" 2>&1; then
    :
  else
    status=1
  fi
  # Passing tests are one line each: show failures in full, the rest short.
  grep -vE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .*(Passed|Skipped)|\(Skipped\)$' "$log" |
    grep -vE '^ *Start +[0-9]+:' || true
  summaries+=("$label: $(grep -E 'tests passed|tests failed' "$log" | tail -1)")
  rm -f "$log"
}

# ---- aarch64 ----------------------------------------------------------------
say "aarch64: configure + build ($BUILD_A64)"
cmake -S . -B "$BUILD_A64" -G Ninja \
  -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
  -DCMAKE_BUILD_TYPE=Release -DQGEMM_WERROR=ON \
  -DQGEMM_BUILD_TESTS=ON -DQGEMM_BUILD_TOOLS=ON -DQGEMM_BUILD_BENCH=ON \
  -DQGEMM_REQUIRE_TEST_DEPS=ON
cmake --build "$BUILD_A64" -j "$JOBS"
file "$BUILD_A64/tests/qgemm_tests" | cut -c1-100
run_ctest "$BUILD_A64" "aarch64 (qemu-aarch64, the registry's CPU matrix)"

# The benchmark: every row on the smallest shape, once, under qemu (a smoke
# test: it must run and, through tools/qgemm-bench --check, every ISA and
# gemmlowp must give qgemm's bytes; qemu timings mean nothing).
bench="$BUILD_A64/bench/qgemm_bench"
if [[ -x "$bench" ]]; then
  say "bench smoke test under qemu-aarch64: $bench"
  out=$(mktemp)
  if qemu-aarch64 "$bench" --benchmark_filter='/64x64x64' \
       --benchmark_min_time=0.01 --benchmark_out="$out" \
       --benchmark_out_format=json &&
     { [[ ! -x tools/qgemm-bench ]] ||
       tools/qgemm-bench --json "$out" --svg '' --check; }; then
    summaries+=("aarch64 bench smoke: $(grep -c '"name"' "$out") rows on 64x64x64 ran")
  else
    status=1
    summaries+=("aarch64 bench smoke: FAILED")
  fi
  rm -f "$out"
else
  status=1
  summaries+=("aarch64 bench smoke: $bench was not built")
fi

# ---- armv7 (armhf) ----------------------------------------------------------
# No Google Benchmark for armhf: QGEMM_BUILD_BENCH left to its default
# checks that it turns itself off there.
say "armv7: configure + build ($BUILD_ARMV7)"
cmake -S . -B "$BUILD_ARMV7" -G Ninja \
  -DCMAKE_TOOLCHAIN_FILE=cmake/arm-linux-gnueabihf.cmake \
  -DCMAKE_BUILD_TYPE=Release -DQGEMM_WERROR=ON \
  -DQGEMM_BUILD_TESTS=ON -DQGEMM_BUILD_TOOLS=ON -DQGEMM_REQUIRE_TEST_DEPS=ON
cmake --build "$BUILD_ARMV7" -j "$JOBS"
run_ctest "$BUILD_ARMV7" "armv7 (qemu-arm: cortex-a15)"

say "summary"
printf '%s\n' "${summaries[@]}"
if ((status)); then
  echo "ARM tests FAILED"
else
  echo "ARM tests passed"
fi
exit "$status"

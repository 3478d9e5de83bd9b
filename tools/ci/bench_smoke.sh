#!/usr/bin/env bash
# Smoke test of the benchmark (seconds, not a measurement): builds
# qgemm_bench, runs every row on the two smallest shapes and fails unless
# qgemm on every ISA and gemmlowp (the same numerics) give qgemm's bytes and
# no row failed; then cross-builds it for aarch64 (peers that are not
# installed for arm64 and the x86 peak loops are compiled out) and runs one
# shape under qemu-aarch64 with the same check.
#   tools/ci/bench_smoke.sh            # from the repository root, any cwd
#   QGEMM_BENCH_SKIP_ARM=1 tools/ci/bench_smoke.sh   # x86 only
set -euo pipefail
cd "$(dirname "$0")/../.."
. tools/ci/deps.sh
# shellcheck disable=SC2086
qgemm_require_packages $QGEMM_BUILD_PACKAGES $QGEMM_PEER_PACKAGES

build=build-bench-smoke
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DQGEMM_WERROR=ON \
  -DQGEMM_BUILD_TESTS=OFF -DQGEMM_BUILD_TOOLS=OFF -DQGEMM_BUILD_BENCH=ON
cmake --build "$build" -j "$(nproc)" --target qgemm_bench
tools/qgemm-bench --bench "$build/bench/qgemm_bench" --min-time 0.01 \
  --filter '^peak|/64x64x64|/1x1024x1024' --svg '' --check

if [ "${QGEMM_BENCH_SKIP_ARM:-0}" = 1 ]; then
  exit 0
fi
qgemm_require_arch arm64
qgemm_require_packages qemu-user crossbuild-essential-arm64 libc6:arm64 \
  libcpu-features-dev:arm64 libbenchmark-dev:arm64 libxsimd-dev:arm64
toolchain=$PWD/cmake/aarch64-linux-gnu.cmake
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
a64=build-bench-smoke-a64
cmake -S . -B "$a64" -G Ninja -DCMAKE_TOOLCHAIN_FILE="$toolchain" \
  -DCMAKE_BUILD_TYPE=Release -DQGEMM_WERROR=ON -DQGEMM_BUILD_TESTS=OFF \
  -DQGEMM_BUILD_TOOLS=OFF -DQGEMM_BUILD_BENCH=ON
cmake --build "$a64" -j "$(nproc)" --target qgemm_bench
qemu-aarch64 "$a64/bench/qgemm_bench" --benchmark_filter='/64x64x64' \
  --benchmark_min_time=0.01 --benchmark_out="$tmp/a64.json" \
  --benchmark_out_format=json >&2
tools/qgemm-bench --json "$tmp/a64.json" --svg '' --check

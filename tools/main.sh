#!/usr/bin/env bash
# Sets everything up (Debian 12; installs missing packages as root), builds
# qgemm, prints qgemm-info, and runs the benchmark table against the peers.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/ci/deps.sh
# shellcheck disable=SC2086
qgemm_require_packages $QGEMM_BUILD_PACKAGES $QGEMM_PEER_PACKAGES
cmake -S . -B build-main -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DQGEMM_BUILD_TESTS=OFF -DQGEMM_BUILD_TOOLS=ON -DQGEMM_BUILD_BENCH=ON
cmake --build build-main -j "$(nproc)"
build-main/tools/qgemm-info
echo
if [ -x tools/qgemm-bench ] && [ -x build-main/bench/qgemm_bench ]; then
  tools/qgemm-bench --bench build-main/bench/qgemm_bench "$@"
else
  echo "qgemm: the benchmark is not built in this tree" >&2
  exit 1
fi

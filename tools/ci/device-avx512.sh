#!/usr/bin/env bash
# For a machine WITH AVX-512 VNNI (e.g. a lent device machine: x86-64,
# Debian-like, root): installs what is missing (tolerating a package that
# cannot be had), builds qgemm, runs the whole test suite natively with
# QGEMM_ISA=avx512vnni (and once more with auto dispatch), records the
# avx512vnni micro-kernel's inner-loop instruction mix (objdump), and runs
# the benchmark on the shapes of docs/design.md next to gemmlowp, XNNPACK
# and oneDNN.
# Everything goes to $OUT (default out/device-avx512). Budget: < 8 minutes
# on 16 cores; every step has its own timeout and the script goes on after a
# failed step, then exits non-zero if the build or a test failed.
#   OUT=/some/dir tools/ci/device-avx512.sh       # from anywhere
name=avx512
isa=avx512vnni
flags="avx512f avx512bw avx512vl avx512dq avx512_vnni"
# shellcheck source=tools/ci/device-lib.sh
. "$(dirname "$0")/device-lib.sh"

device_machine
device_packages
device_build
device_info
device_tests '*avx512vnni*:*Avx512*'
# The full 8-row, 32-column tile with the uint8 output stage.
device_loop_mix '*avx512vnni*/gemm_8x32.cc.o' 'GemmU8Tile<8, 2>(' vpdpbusd

step "benchmark (docs/design.md shapes, single thread, then $jobs threads)"
bench=$(find "$build" -name qgemm_bench -type f -perm -u+x | head -1)
shapes='(1x4096x4096|3136x64x576|196x512x4608|384x768x768|384x3072x768|128x4096x4096)'
rows='^((qgemm_(avx512vnni|avx2)|gemmlowp|xnnpack|onednn|openblas)[^/]*/[^/]+/'"$shapes"'|peak.*)$'
if [ -n "$bench" ]; then
  timeout 200 "$bench" --benchmark_filter="$rows" --benchmark_min_time=0.1 \
    --benchmark_out="$OUT/bench-1thread.json" --benchmark_out_format=json \
    >"$OUT/bench-1thread.txt" 2>&1 || echo "benchmark (1 thread) failed or timed out"
  timeout 100 "$bench" --threads="$jobs" --real_time \
    --benchmark_filter='^(qgemm_avx512vnni|onednn|xnnpack)[^/]*/full/(128x4096x4096|3136x64x576|384x3072x768)(/real_time)?$' \
    --benchmark_min_time=0.1 --benchmark_out="$OUT/bench-${jobs}threads.json" \
    --benchmark_out_format=json >"$OUT/bench-${jobs}threads.txt" 2>&1 ||
    echo "benchmark ($jobs threads) failed or timed out"
  device_bench_tables
else
  echo "no qgemm_bench in this build (bench/ not built or libbenchmark-dev missing)"
fi

device_done

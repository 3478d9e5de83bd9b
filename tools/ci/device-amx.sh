#!/usr/bin/env bash
# For a machine WITH AMX-INT8 (Sapphire Rapids or later Xeon, x86-64,
# Debian-like, root): installs what is missing (tolerating a package that
# cannot be had), builds qgemm, prints qgemm-info's AMX line (detection and
# Linux's answer to the tile permission), runs the whole test suite natively
# with QGEMM_ISA=amx (and once more with auto dispatch), records the tile
# loop's instruction mix (objdump), and runs the benchmark: qgemm amx and
# avx512vnni, the TDPBUUD and VPDPBUSD peaks, oneDNN uncapped (its AMX
# kernels) and, in a second run, oneDNN capped at AVX512_CORE_VNNI
# (ONEDNN_MAX_CPU_ISA is read once per process), at 1 and 2 threads.
# Everything goes to $OUT (default out/device-amx). Budget: < 8 minutes on
# 16 cores; every step has its own timeout and the script goes on after a
# failed step, then exits non-zero if the build or a test failed.
#   OUT=/some/dir tools/ci/device-amx.sh       # from anywhere
name=amx
isa=amx
flags="amx_tile amx_int8 avx512f avx512bw avx512vl avx512dq avx512_vnni"
# shellcheck source=tools/ci/device-lib.sh
. "$(dirname "$0")/device-lib.sh"

device_machine
device_packages
device_build
device_info
device_tests '*amx*:*Amx*'
# The depth-step loop of the 2 x 2 C tiles, with the previous tile's output
# rows stored between steps (StoreRowsOf, a call from the loop).
device_loop_mix '*kernels/amx/gemm_32x32.cc.o' 'AmxU8Strip<2>(' tdpbusd

step "benchmark (single thread, then 2 threads; oneDNN uncapped, then capped)"
bench=$(find "$build" -name qgemm_bench -type f -perm -u+x | head -1)
shapes='(64x64x64|128x128x128|256x256x256|1024x1024x1024|1x1024x1024|1x4096x4096|3136x64x576|196x512x4608|384x768x768|128x4096x4096)'
rows='^((qgemm_(amx|avx512vnni)|onednn)[^/]*/[^/]+/'"$shapes"'|peak_exact_(amx|avx512vnni))$'
if [ -n "$bench" ]; then
  timeout 150 "$bench" --benchmark_filter="$rows" --benchmark_min_time=0.1 \
    --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
    --benchmark_out="$OUT/bench-1thread.json" --benchmark_out_format=json \
    >"$OUT/bench-1thread.txt" 2>&1 || echo "benchmark (1 thread) failed or timed out"
  ONEDNN_MAX_CPU_ISA=AVX512_CORE_VNNI timeout 60 "$bench" \
    --benchmark_filter='^onednn[^/]*/[^/]+/'"$shapes"'$' --benchmark_min_time=0.1 \
    --benchmark_out="$OUT/bench-1thread-onednn-vnni.json" --benchmark_out_format=json \
    >"$OUT/bench-1thread-onednn-vnni.txt" 2>&1 || echo "benchmark (capped oneDNN) failed or timed out"
  timeout 100 "$bench" --threads=2 --real_time \
    --benchmark_filter='^(qgemm_amx|onednn)[^/]*/full/(128x128x128|1024x1024x1024|384x768x768|128x4096x4096)(/real_time)?$' \
    --benchmark_min_time=0.1 --benchmark_out="$OUT/bench-2threads.json" \
    --benchmark_out_format=json >"$OUT/bench-2threads.txt" 2>&1 ||
    echo "benchmark (2 threads) failed or timed out"
  device_bench_tables
else
  echo "no qgemm_bench in this build (bench/ not built or libbenchmark-dev missing)"
fi

device_done

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
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-$PWD/out/device-amx}
mkdir -p "$OUT"
exec > >(tee "$OUT/device-amx.log") 2>&1
jobs=$(nproc)
build=build-device-amx
status=0
step() { echo; echo "=== $(date -u +%H:%M:%S) $*"; }

step "machine"
{
  uname -a
  grep -m1 'model name' /proc/cpuinfo || true
  echo "cores: $jobs"
  echo "amx/avx512 flags: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(amx|avx512)' | sort | tr '\n' ' ')"
} | tee "$OUT/cpu.txt"
have_amx=1
for f in amx_tile amx_int8 avx512f avx512bw avx512vl avx512dq avx512_vnni; do
  grep -m1 '^flags' /proc/cpuinfo | grep -qw "$f" || { echo "CPU lacks $f"; have_amx=0; }
done
[ "$have_amx" = 1 ] || echo "WARNING: no AMX-INT8 here: the native amx tests will SKIP and QGEMM_ISA=amx is refused"

step "packages"
required="cmake g++ libcpu-features-dev libgtest-dev libxsimd-dev"
optional="ninja-build pkg-config libbenchmark-dev libsimde-dev libgemmlowp-dev libxnnpack-dev libpthreadpool-dev libcpuinfo-dev libdnnl-dev libopenblas-dev python3 binutils"
missing=""
for p in $required $optional; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing:$missing"
  export DEBIAN_FRONTEND=noninteractive
  timeout 150 apt-get update -q || echo "apt-get update failed; trying the install anyway"
  # One by one, so that a package the mirror lacks does not stop the rest.
  for p in $missing; do
    timeout 120 apt-get install -y -q --no-install-recommends "$p" >/dev/null ||
      echo "could not install $p"
  done
fi
for p in $required; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || {
    echo "FATAL: required package $p is missing"; exit 2; }
done

step "configure and build ($jobs jobs)"
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
# The benchmark only where libbenchmark-dev could be installed (its default).
timeout 120 cmake -S . -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DQGEMM_WERROR=ON -DQGEMM_BUILD_TESTS=ON >"$OUT/configure.log" 2>&1 ||
  { tail -30 "$OUT/configure.log"; echo "FATAL: configure failed"; exit 2; }
grep -E "qgemm:|peer|not found" "$OUT/configure.log" || true
timeout 300 cmake --build "$build" -j "$jobs" >"$OUT/build.log" 2>&1 ||
  { tail -40 "$OUT/build.log"; echo "FATAL: build failed"; exit 2; }
echo "built"

step "qgemm-info (AMX detection and the tile permission)"
info=$(find "$build" -name qgemm-info -type f -perm -u+x | head -1)
[ -n "$info" ] && "$info" | tee "$OUT/qgemm-info.txt"

step "tests, QGEMM_ISA=amx (the native kernels must run, not skip)"
QGEMM_ISA=amx timeout 240 ctest --test-dir "$build" -j "$jobs" \
  --output-on-failure --timeout 180 >"$OUT/ctest-amx.log" 2>&1 || status=1
tail -15 "$OUT/ctest-amx.log"
tests_bin=$(find "$build" -name qgemm_tests -type f -perm -u+x | head -1)
if [ -n "$tests_bin" ]; then
  QGEMM_ISA=amx timeout 120 "$tests_bin" \
    --gtest_filter='*amx*:*Amx*' >"$OUT/gtest-amx.log" 2>&1 || status=1
  echo "amx cases: $(grep -c '^\[       OK \]' "$OUT/gtest-amx.log") ok," \
    "$(grep -c '^\[  SKIPPED \]' "$OUT/gtest-amx.log") skipped," \
    "$(grep -c '^\[  FAILED  \]' "$OUT/gtest-amx.log") failed"
  grep -E '^\[  (SKIPPED|FAILED) \]' "$OUT/gtest-amx.log" | head -20
fi

step "tests, auto dispatch"
timeout 240 ctest --test-dir "$build" -j "$jobs" --timeout 180 \
  >"$OUT/ctest-auto.log" 2>&1 || status=1
tail -4 "$OUT/ctest-auto.log"

step "tile loop of the 32x32 kernel (objdump)"
obj=$(find "$build" -path '*kernels/amx*' -name 'gemm_32x32.cc.o' | head -1)
if [ -n "$obj" ] && command -v objdump >/dev/null; then
  objdump -d --no-show-raw-insn -C "$obj" >"$OUT/gemm_32x32.dis"
  # The full tile's loop (2 x 2 C tiles): the instructions between the
  # first tileloadd and the last tdpbusd of TileLoop<2, 2>.
  awk -v fn='TileLoop<2, 2>(' '
    index($0, fn) && /^[0-9a-f]+ </ { on = 1; next }
    on && /^[0-9a-f]+ </ { exit }
    on && /^ *[0-9a-f]+:/ { print; cnt[$2]++ }
    END { printf "mix of the whole function:"; for (o in cnt) printf " %s=%d", o, cnt[o]; print "" }
  ' "$OUT/gemm_32x32.dis" | tee "$OUT/tile-loop.txt" | tail -1
else
  echo "no native amx object or no objdump"
fi

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
  if [ -x tools/qgemm-bench ] && command -v python3 >/dev/null; then
    for j in "$OUT"/bench-*.json; do
      tools/qgemm-bench --json "$j" --svg "${j%.json}.svg" --markdown \
        >"${j%.json}.md" 2>&1 && cat "${j%.json}.md"
    done
  else
    cat "$OUT"/bench-*.txt
  fi
else
  echo "no qgemm_bench in this build (bench/ not built or libbenchmark-dev missing)"
fi

step "done: status $status (0: build and every test passed); logs in $OUT"
exit $status

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
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-$PWD/out/device-avx512}
mkdir -p "$OUT"
exec > >(tee "$OUT/device-avx512.log") 2>&1
jobs=$(nproc)
build=build-device-avx512
status=0
step() { echo; echo "=== $(date -u +%H:%M:%S) $*"; }

step "machine"
{
  uname -a
  grep -m1 'model name' /proc/cpuinfo || true
  echo "cores: $jobs"
  echo "avx512 flags: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^avx512' | sort | tr '\n' ' ')"
} | tee "$OUT/cpu.txt"
have_vnni=1
for f in avx512f avx512bw avx512vl avx512dq avx512_vnni; do
  grep -m1 '^flags' /proc/cpuinfo | grep -qw "$f" || { echo "CPU lacks $f"; have_vnni=0; }
done
[ "$have_vnni" = 1 ] || echo "WARNING: no AVX-512 VNNI here: the native avx512vnni tests will SKIP and QGEMM_ISA=avx512vnni is refused"

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

step "qgemm-info"
info=$(find "$build" -name qgemm-info -type f -perm -u+x | head -1)
[ -n "$info" ] && "$info" | tee "$OUT/qgemm-info.txt"

step "tests, QGEMM_ISA=avx512vnni (the native kernels must run, not skip)"
QGEMM_ISA=avx512vnni timeout 240 ctest --test-dir "$build" -j "$jobs" \
  --output-on-failure --timeout 180 >"$OUT/ctest-avx512vnni.log" 2>&1 || status=1
tail -15 "$OUT/ctest-avx512vnni.log"
tests_bin=$(find "$build" -name qgemm_tests -type f -perm -u+x | head -1)
if [ -n "$tests_bin" ]; then
  QGEMM_ISA=avx512vnni timeout 120 "$tests_bin" \
    --gtest_filter='*avx512vnni*:*Avx512*' >"$OUT/gtest-avx512vnni.log" 2>&1 || status=1
  echo "avx512vnni cases: $(grep -c '^\[       OK \]' "$OUT/gtest-avx512vnni.log") ok," \
    "$(grep -c '^\[  SKIPPED \]' "$OUT/gtest-avx512vnni.log") skipped," \
    "$(grep -c '^\[  FAILED  \]' "$OUT/gtest-avx512vnni.log") failed"
  grep -E '^\[  (SKIPPED|FAILED) \]' "$OUT/gtest-avx512vnni.log" | head -20
fi

step "tests, auto dispatch"
timeout 240 ctest --test-dir "$build" -j "$jobs" --timeout 180 \
  >"$OUT/ctest-auto.log" 2>&1 || status=1
tail -4 "$OUT/ctest-auto.log"

step "inner loop of the 8x32 micro-kernel (objdump)"
obj=$(find "$build" -path '*avx512vnni*' -name 'gemm_8x32.cc.o' | head -1)
if [ -n "$obj" ] && command -v objdump >/dev/null; then
  objdump -d --no-show-raw-insn -C "$obj" >"$OUT/gemm_8x32.dis"
  # The loop: the backward conditional jump whose body holds VPDPBUSD, in
  # the full 8-row, 32-column tile with the uint8 output stage.
  awk -v fn='GemmU8Tile<8, 2>(' '
    function hex(s,   i, v) {  # mawk has no strtonum
      v = 0
      for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
      return v
    }
    index($0, fn) && /^[0-9a-f]+ </ { on = 1; next }
    on && /^[0-9a-f]+ </ { exit }
    on && /^ *[0-9a-f]+:/ {
      addr = hex(substr($1, 1, length($1) - 1))
      n++; a[n] = addr; op[n] = $2; line[n] = $0
      if ($2 ~ /^j/ && $2 != "jmp" && hex($3) < addr) {
        tgt = hex($3); has = 0
        for (i = 1; i <= n; i++) if (a[i] >= tgt && op[i] == "vpdpbusd") has = 1
        if (has && !done) {
          done = 1
          for (i = 1; i <= n; i++) if (a[i] >= tgt) { print line[i]; cnt[op[i]]++ }
          printf "mix:"; for (o in cnt) printf " %s=%d", o, cnt[o]; print ""
        }
      }
    }' "$OUT/gemm_8x32.dis" | tee "$OUT/inner-loop.txt" | tail -1
else
  echo "no native avx512vnni object or no objdump"
fi

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
  if [ -x tools/qgemm-bench ] && command -v python3 >/dev/null; then
    for j in "$OUT"/bench-*.json; do
      tools/qgemm-bench --json "$j" --svg "${j%.json}.svg" --markdown \
        >"${j%.json}.md" 2>&1 && cat "${j%.json}.md"
    done
  else
    cat "$OUT/bench-1thread.txt"
  fi
else
  echo "no qgemm_bench in this build (bench/ not built or libbenchmark-dev missing)"
fi

step "done: status $status (0: build and every test passed); logs in $OUT"
exit $status

# Shared steps of the device scripts (device-avx512.sh, device-amx.sh): each
# runs on a lent x86-64 machine (Debian-like, root) that has its ISA, and
# sources this file after setting
#   name      short name: logs go to $OUT (default out/device-$name), the
#             build to build-device-$name
#   isa       the qgemm ISA the native tests must run (QGEMM_ISA=$isa)
#   flags     /proc/cpuinfo flags the ISA needs
# Every step has its own timeout; a failed build or test sets status=1 (or
# ends the script with 2 when nothing after it could run).
# shellcheck shell=bash
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
OUT=${OUT:-$PWD/out/device-$name}
mkdir -p "$OUT"
exec > >(tee "$OUT/device-$name.log") 2>&1
jobs=$(nproc)
build=build-device-$name
status=0
step() { echo; echo "=== $(date -u +%H:%M:%S) $*"; }

# The machine, and whether it has every flag the ISA needs.
device_machine() {
  step "machine"
  local cpu_flags
  cpu_flags=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n')
  {
    uname -a
    grep -m1 'model name' /proc/cpuinfo || true
    echo "cores: $jobs"
    echo "amx/avx512 flags: $(echo "$cpu_flags" | grep -E '^(amx|avx512)' | sort | tr '\n' ' ')"
  } | tee "$OUT/cpu.txt"
  local have=1 f
  for f in $flags; do
    echo "$cpu_flags" | grep -qx "$f" || { echo "CPU lacks $f"; have=0; }
  done
  [ "$have" = 1 ] || echo "WARNING: no $isa here: the native $isa tests will SKIP and QGEMM_ISA=$isa is refused"
}

# Installs what is missing, one package at a time (a package the mirror
# lacks does not stop the rest); only the build's own needs are required.
device_packages() {
  step "packages"
  local required="cmake g++ libcpu-features-dev libgtest-dev libxsimd-dev"
  local optional="ninja-build pkg-config libbenchmark-dev libsimde-dev libgemmlowp-dev libxnnpack-dev libpthreadpool-dev libcpuinfo-dev libdnnl-dev libopenblas-dev python3 binutils"
  local missing="" p
  for p in $required $optional; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
  if [ -n "$missing" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    timeout 150 apt-get update -q || echo "apt-get update failed; trying the install anyway"
    for p in $missing; do
      timeout 120 apt-get install -y -q --no-install-recommends "$p" >/dev/null ||
        echo "could not install $p"
    done
  fi
  for p in $required; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || {
      echo "FATAL: required package $p is missing"; exit 2; }
  done
}

device_build() {
  step "configure and build ($jobs jobs)"
  local gen=()
  command -v ninja >/dev/null && gen=(-G Ninja)
  # The benchmark only where libbenchmark-dev could be installed (its default).
  timeout 120 cmake -S . -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DQGEMM_WERROR=ON -DQGEMM_BUILD_TESTS=ON >"$OUT/configure.log" 2>&1 ||
    { tail -30 "$OUT/configure.log"; echo "FATAL: configure failed"; exit 2; }
  grep -E "qgemm:|peer|not found" "$OUT/configure.log" || true
  timeout 300 cmake --build "$build" -j "$jobs" >"$OUT/build.log" 2>&1 ||
    { tail -40 "$OUT/build.log"; echo "FATAL: build failed"; exit 2; }
  echo "built"
}

# qgemm-info (detection, and each ISA's enable hook's answer).
device_info() {
  step "qgemm-info"
  local info
  info=$(find "$build" -name qgemm-info -type f -perm -u+x | head -1)
  [ -n "$info" ] && "$info" | tee "$OUT/qgemm-info.txt"
}

# The whole suite with QGEMM_ISA=$isa, the ISA's own cases counted (they
# must run, not skip), then the suite again with auto dispatch.
# $1: gtest filter of the ISA's own cases.
device_tests() {
  step "tests, QGEMM_ISA=$isa (the native kernels must run, not skip)"
  QGEMM_ISA=$isa timeout 240 ctest --test-dir "$build" -j "$jobs" \
    --output-on-failure --timeout 180 >"$OUT/ctest-$isa.log" 2>&1 || status=1
  tail -15 "$OUT/ctest-$isa.log"
  local tests_bin log="$OUT/gtest-$isa.log"
  tests_bin=$(find "$build" -name qgemm_tests -type f -perm -u+x | head -1)
  if [ -n "$tests_bin" ]; then
    QGEMM_ISA=$isa timeout 120 "$tests_bin" --gtest_filter="$1" >"$log" 2>&1 || status=1
    echo "$isa cases: $(grep -c '^\[       OK \]' "$log") ok," \
      "$(grep -c '^\[  SKIPPED \]' "$log") skipped," \
      "$(grep -c '^\[  FAILED  \]' "$log") failed"
    grep -E '^\[  (SKIPPED|FAILED) \]' "$log" | head -20
  fi

  step "tests, auto dispatch"
  timeout 240 ctest --test-dir "$build" -j "$jobs" --timeout 180 \
    >"$OUT/ctest-auto.log" 2>&1 || status=1
  tail -4 "$OUT/ctest-auto.log"
}

# The inner loop of a micro-kernel and its instruction mix, from objdump:
# in the first function whose name starts with $2, of the object named $1
# (a find -path pattern), the loop (a backward conditional jump) where $3
# instructions are densest (the innermost loop around them, not the loops
# that enclose it). Written to $OUT/inner-loop.txt.
device_loop_mix() {
  step "inner loop of $2 (objdump)"
  local obj
  obj=$(find "$build" -path "$1" | head -1)
  if [ -z "$obj" ] || ! command -v objdump >/dev/null; then
    echo "no object $1 or no objdump"
    return
  fi
  objdump -d --no-show-raw-insn -C "$obj" >"$OUT/kernel.dis"
  awk -v fn="$2" -v key="$3" '
    function hex(s,   i, v) {  # mawk has no strtonum
      v = 0
      for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
      return v
    }
    /^[0-9a-f]+ </ { if (on) exit; if (index($0, "<" fn) || index($0, "::" fn)) on = 1; next }
    on && /^ *[0-9a-f]+:/ {
      addr = hex(substr($1, 1, length($1) - 1))
      n++; a[n] = addr; op[n] = $2; line[n] = $0
      if ($2 ~ /^j/ && $2 != "jmp" && hex($3) < addr) {
        tgt = hex($3); keys = 0; body = 0
        for (i = 1; i <= n; i++) if (a[i] >= tgt) { body++; if (op[i] == key) keys++ }
        if (keys > 0 && keys / body > best) { best = keys / body; lo = tgt; hi = addr }
      }
    }
    END {
      if (!best) { print "no loop with " key " in " fn; exit }
      for (i = 1; i <= n; i++) if (a[i] >= lo && a[i] <= hi) { print line[i]; cnt[op[i]]++ }
      printf "mix:"; for (o in cnt) printf " %s=%d", o, cnt[o]; print ""
    }' "$OUT/kernel.dis" | tee "$OUT/inner-loop.txt" | tail -1
}

# Markdown tables (and SVG charts) of the benchmark JSON files in $OUT.
device_bench_tables() {
  if [ -x tools/qgemm-bench ] && command -v python3 >/dev/null; then
    local j
    for j in "$OUT"/bench-*.json; do
      [ -e "$j" ] || continue
      tools/qgemm-bench --json "$j" --svg "${j%.json}.svg" --markdown \
        >"${j%.json}.md" 2>&1 && cat "${j%.json}.md"
    done
  else
    cat "$OUT"/bench-*.txt
  fi
}

device_done() {
  step "done: status $status (0: build and every test passed); logs in $OUT"
  exit $status
}

#!/bin/sh
# Usage: check_no_avx512.sh [--require-vex-vpdpbusd] OBJDUMP OBJECT...
# Fails if an object holds any AVX-512 instruction: an EVEX prefix (0x62 as
# the first opcode byte, after legacy prefixes), a zmm / xmm16-31 / ymm16-31
# or mask register, or VPDPBUSD in any encoding (VEX AVX-VNNI included).
# The SIMDe builds of the AVX-512 VNNI and AVX-VNNI kernels must pass, so
# that they run on any AVX2 CPU; a native AVX-512 object must fail (checked
# by hand).
# --require-vex-vpdpbusd: for the native AVX-VNNI kernels. VEX-encoded
# VPDPBUSD ("{vex} vpdpbusd" in objdump) is allowed and at least one must be
# there; anything EVEX still fails (VPDPBUSD in EVEX form would raise
# SIGILL on the AVX-VNNI CPUs without AVX-512).
set -eu
require_vex=0
if [ "${1:-}" = "--require-vex-vpdpbusd" ]; then
  require_vex=1
  shift
fi
objdump=$1
shift
status=0
for obj in "$@"; do
  # Instruction lines only: the file name (in objdump's header) may well
  # contain "vpdpbusd".
  listing=$("$objdump" -d --no-show-raw-insn "$obj" |
    grep -E '^ *[0-9a-f]+:	' || true)
  bad=$(printf '%s\n' "$listing" |
    grep -E '%zmm|%[xy]mm(1[6-9]|2[0-9]|3[01])\b|%k[0-7]\b|vpdpbus' || true)
  vex=0
  if [ "$require_vex" -eq 1 ]; then
    vex=$(printf '%s\n' "$bad" | grep -c '{vex} vpdpbusd ' || true)
    bad=$(printf '%s\n' "$bad" | grep -v '{vex} vpdpbusd ' || true)
  fi
  evex=$("$objdump" -d --insn-width=16 "$obj" |
    grep -E '^ *[0-9a-f]+:	((2e|3e|26|36|64|65|66|67|f2|f3) )*62 ' || true)
  n=$(printf '%s' "$bad$evex" | grep -c . || true)
  total=$(printf '%s\n' "$listing" | grep -c . || true)
  if [ "$n" -ne 0 ]; then
    echo "$obj: $n AVX-512 (or VPDPBUSD) instruction(s), e.g.:"
    printf '%s\n%s\n' "$bad" "$evex" | grep . | head -5
    status=1
  elif [ "$total" -eq 0 ]; then
    echo "$obj: no instructions found (wrong file?)"
    status=1
  elif [ "$require_vex" -eq 1 ] && [ "$vex" -eq 0 ]; then
    echo "$obj: no VEX-encoded vpdpbusd (not the AVX-VNNI kernels?)"
    status=1
  elif [ "$require_vex" -eq 1 ]; then
    echo "$obj: $total instructions, $vex of them {vex} vpdpbusd, none AVX-512"
  else
    echo "$obj: $total instructions, none of them AVX-512"
  fi
done
exit $status

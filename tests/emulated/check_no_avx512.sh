#!/bin/sh
# Usage: check_no_avx512.sh OBJDUMP OBJECT...
# Fails if an object holds any AVX-512 instruction: an EVEX prefix (0x62 as
# the first opcode byte, after legacy prefixes), a zmm / xmm16-31 / ymm16-31
# or mask register, or VPDPBUSD in any encoding (VEX AVX-VNNI included).
# The SIMDe build of the AVX-512 VNNI kernels must pass, so that it runs on
# any AVX2 CPU; a native AVX-512 object must fail (checked by hand).
set -eu
objdump=$1
shift
status=0
for obj in "$@"; do
  bad=$("$objdump" -d --no-show-raw-insn "$obj" |
    grep -E '%zmm|%[xy]mm(1[6-9]|2[0-9]|3[01])\b|%k[0-7]\b|vpdpbus' || true)
  evex=$("$objdump" -d --insn-width=16 "$obj" |
    grep -E '^ *[0-9a-f]+:	((2e|3e|26|36|64|65|66|67|f2|f3) )*62 ' || true)
  n=$(printf '%s' "$bad$evex" | grep -c . || true)
  total=$("$objdump" -d --no-show-raw-insn "$obj" | grep -cE '^ *[0-9a-f]+:	' || true)
  if [ "$n" -ne 0 ]; then
    echo "$obj: $n AVX-512 instruction(s), e.g.:"
    printf '%s\n%s\n' "$bad" "$evex" | grep . | head -5
    status=1
  elif [ "$total" -eq 0 ]; then
    echo "$obj: no instructions found (wrong file?)"
    status=1
  else
    echo "$obj: $total instructions, none of them AVX-512"
  fi
done
exit $status

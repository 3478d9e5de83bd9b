#!/bin/sh
# Usage: check_amx.sh --forbid|--require OBJDUMP OBJECT...
# --forbid: fails if an object holds any AMX instruction (ldtilecfg,
#   sttilecfg, tilerelease, tilezero, tileload*, tilestore*, tdp*): the
#   model build of the AMX kernels (amx_emulated) must run on any CPU.
# --require: fails unless each object holds TDPBUSD or TDPBUUD: the native
#   AMX kernels really use the tile unit.
set -eu
mode=$1
objdump=$2
shift 2
status=0
for obj in "$@"; do
  # Instruction lines only: the file name in objdump's header may match.
  listing=$("$objdump" -d --no-show-raw-insn "$obj" |
    grep -E '^ *[0-9a-f]+:	' || true)
  total=$(printf '%s\n' "$listing" | grep -c . || true)
  amx=$(printf '%s\n' "$listing" |
    grep -E '	(ldtilecfg|sttilecfg|tilerelease|tilezero|tileload|tilestore|tdp)' ||
    true)
  n=$(printf '%s' "$amx" | grep -c . || true)
  tdp=$(printf '%s\n' "$amx" | grep -cE '	tdpbu[su]d' || true)
  if [ "$total" -eq 0 ]; then
    echo "$obj: no instructions found (wrong file?)"
    status=1
  elif [ "$mode" = "--forbid" ] && [ "$n" -ne 0 ]; then
    echo "$obj: $n AMX instruction(s), e.g.:"
    printf '%s\n' "$amx" | head -5
    status=1
  elif [ "$mode" = "--require" ] && [ "$tdp" -eq 0 ]; then
    echo "$obj: no tdpbusd / tdpbuud among $total instructions"
    status=1
  else
    echo "$obj: $total instructions, $n AMX ($tdp tdpbusd/tdpbuud)"
  fi
done
exit $status

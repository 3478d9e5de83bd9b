#!/bin/sh
# The neoni8mm object must hold UMMLA, and its best depth loop (a backward
# conditional branch and the instructions it repeats) must reach 24
# multiply-accumulates per instruction, counting 32 per UMMLA (2 x 8 x 2)
# and nothing for the loads and loop control. Prints every loop it finds.
# Usage: check_ummla_loop.sh OBJDUMP OBJECT...
set -eu
objdump=$1
shift
"$objdump" -d --no-show-raw-insn "$@" | awk '
  # Addresses compared as zero-padded hex strings (POSIX awk has no strtonum).
  function key(hex) { return substr("0000000000000000" hex, length(hex) + 1) }
  # "    1c74:\tmnemonic\toperands"
  /^ *[0-9a-f]+:\t/ {
    split($0, f, "\t")
    addr = f[1]; sub(/^ */, "", addr); sub(/:$/, "", addr)
    a = key(addr)
    n++; at[n] = a; op[n] = f[2]; arg[n] = f[3]
    if (f[2] == "ummla") ummla_total++
    if (f[2] ~ /^b\.(ne|any|gt|hi|cs|lo|ge|lt)$/ || f[2] == "cbnz") {
      target = f[3]
      if (f[2] == "cbnz") { sub(/^[^,]*, */, "", target) }
      sub(/ .*/, "", target)
      t = key(target)
      if (t < a) {
        insns = 0; mm = 0
        for (i = n; i >= 1 && at[i] >= t; i--) {
          insns++
          if (op[i] == "ummla") mm++
        }
        if (mm > 0) {
          macs = 32 * mm / insns
          printf "loop %s..%s: %d instructions, %d UMMLA: %.1f MACs per instruction\n", t, a, insns, mm, macs
          if (macs > best) best = macs
        }
      }
    }
  }
  END {
    printf "UMMLA instructions in the object: %d; best loop: %.1f MACs per instruction (target >= 24)\n", ummla_total, best
    if (ummla_total == 0 || best < 24) exit 1
  }'

#!/bin/sh
# A kernel object must hold its multiply-accumulate instruction, and its
# best depth loop (a backward conditional branch and the instructions it
# repeats) must reach TARGET multiply-accumulates per instruction, counting
# MACS per MNEMONIC (UMMLA 32 = 2 x 8 x 2, UDOT 16 = 4 x 4) and nothing for
# the loads and loop control. Prints every such loop it finds.
# Usage: check_mac_loop.sh MNEMONIC MACS TARGET OBJDUMP OBJECT...
set -eu
mnemonic=$1 macs_per=$2 target=$3 objdump=$4
shift 4
"$objdump" -d --no-show-raw-insn "$@" | awk -v mn="$mnemonic" -v per="$macs_per" -v want="$target" '
  # Addresses compared as zero-padded hex strings (POSIX awk has no strtonum).
  function key(hex) { return substr("0000000000000000" hex, length(hex) + 1) }
  # "    1c74:\tmnemonic\toperands"
  /^ *[0-9a-f]+:\t/ {
    split($0, f, "\t")
    addr = f[1]; sub(/^ */, "", addr); sub(/:$/, "", addr)
    a = key(addr)
    n++; at[n] = a; op[n] = f[2]; arg[n] = f[3]
    if (f[2] == mn) total++
    if (f[2] ~ /^b\.(ne|any|gt|hi|cs|lo|ge|lt)$/ || f[2] == "cbnz") {
      target = f[3]
      if (f[2] == "cbnz") { sub(/^[^,]*, */, "", target) }
      sub(/ .*/, "", target)
      t = key(target)
      if (t < a) {
        insns = 0; mm = 0
        for (i = n; i >= 1 && at[i] >= t; i--) {
          insns++
          if (op[i] == mn) mm++
        }
        if (mm > 0) {
          macs = per * mm / insns
          printf "loop %s..%s: %d instructions, %d %s: %.1f MACs per instruction\n", t, a, insns, mm, mn, macs
          if (macs > best) best = macs
        }
      }
    }
  }
  END {
    printf "%s instructions in the object: %d; best loop: %.1f MACs per instruction (target >= %s)\n", mn, total, best, want
    if (total == 0 || best < want + 0) exit 1
  }'

// The exact ceiling of an AVX-VNNI core: VEX-encoded vpdpbusd on ymm (u8 x
// s8, four products added to each int32 lane without intermediate
// saturation: exact for uint8 x (uint8 - 128)), 12 independent accumulators
// as in the avxvnni 6x16 tile, registers only. Inline assembly for the same
// reason as peak_avx2.cc; the {vex} prefix (%{vex%} in extended asm, where
// braces select assembler dialects) makes the assembler pick the VEX
// encoding whatever it was told about AVX-512. Compiled with -mavxvnni (this
// file only; called only when the CPU runs qgemm's avxvnni ISA); includes
// nothing but <cstdint>.
#include <cstdint>

#include "peak_avx2.h"

namespace qgemm_bench {

#define QB_DPBUSD(b, acc) \
  "%{vex%} vpdpbusd %%ymm" #b ", %%ymm0, %%ymm" #acc "\n\t"
#define QB_ZERO(r) "vpxor %%ymm" #r ", %%ymm" #r ", %%ymm" #r "\n\t"
#define QB_ADD(a, b) "vpaddd %%ymm" #b ", %%ymm" #a ", %%ymm" #a "\n\t"

int32_t PeakExactAvxVnni() {
  int32_t out;
  __asm__ volatile(
      "vpcmpeqb %%ymm0, %%ymm0, %%ymm0\n\t"
      "vpabsb %%ymm0, %%ymm1\n\t"
      "vpaddb %%ymm1, %%ymm1, %%ymm2\n\t"
      QB_ZERO(4) QB_ZERO(5) QB_ZERO(6) QB_ZERO(7) QB_ZERO(8) QB_ZERO(9)
      QB_ZERO(10) QB_ZERO(11) QB_ZERO(12) QB_ZERO(13) QB_ZERO(14) QB_ZERO(15)
      "mov $4096, %%ecx\n\t"
      "1:\n\t"
      QB_DPBUSD(1, 4) QB_DPBUSD(2, 5) QB_DPBUSD(1, 6) QB_DPBUSD(2, 7)
      QB_DPBUSD(1, 8) QB_DPBUSD(2, 9) QB_DPBUSD(1, 10) QB_DPBUSD(2, 11)
      QB_DPBUSD(1, 12) QB_DPBUSD(2, 13) QB_DPBUSD(1, 14) QB_DPBUSD(2, 15)
      "dec %%ecx\n\t"
      "jnz 1b\n\t"
      QB_ADD(4, 5) QB_ADD(6, 7) QB_ADD(8, 9) QB_ADD(10, 11) QB_ADD(12, 13)
      QB_ADD(14, 15) QB_ADD(4, 6) QB_ADD(8, 10) QB_ADD(12, 14) QB_ADD(4, 8)
      QB_ADD(4, 12)
      "vmovd %%xmm4, %0\n\t"
      "vzeroupper\n\t"
      : "=r"(out)
      :
      : "ecx", "cc", "xmm0", "xmm1", "xmm2", "xmm4", "xmm5", "xmm6", "xmm7",
        "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
  return out;
}

}  // namespace qgemm_bench

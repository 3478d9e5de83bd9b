// The ceiling of this core's integer multiply-accumulate rate on AVX2,
// measured with loops that never touch memory: only the multiply and add
// instructions a GEMM micro-kernel cannot avoid, with as many independent
// accumulators as the 16 ymm registers allow (a 6x16 int32 tile has 12).
//
// Written in inline assembly: from intrinsics GCC 12 copies and spills the
// accumulators (checked with objdump), which measures the compiler, not the
// core. Compiled with -mavx2 (this file only; called only when the CPU has
// AVX2); includes nothing but <cstdint> (docs/design.md, "Building per-ISA
// code").
#include "peak_avx2.h"

#include <cstdint>

namespace qgemm_bench {

// clang-format off
// One exact step into accumulator ymm<acc>: ymm3 = pairs of int16 products
// of ymm0 (the broadcast A) and ymm<b> (a B vector), summed into int32.
#define QB_MADD(b, acc)                           \
  "vpmaddwd %%ymm" #b ", %%ymm0, %%ymm3\n\t"      \
  "vpaddd %%ymm3, %%ymm" #acc ", %%ymm" #acc "\n\t"
// clang-format on

int32_t PeakExactAvx2() {
  int32_t out;
  __asm__ volatile(
      "vpcmpeqw %%ymm0, %%ymm0, %%ymm0\n\t"
      "vpabsw %%ymm0, %%ymm1\n\t"
      "vpaddw %%ymm1, %%ymm1, %%ymm2\n\t"
      "vpxor %%ymm4, %%ymm4, %%ymm4\n\t"
      "vpxor %%ymm5, %%ymm5, %%ymm5\n\t"
      "vpxor %%ymm6, %%ymm6, %%ymm6\n\t"
      "vpxor %%ymm7, %%ymm7, %%ymm7\n\t"
      "vpxor %%ymm8, %%ymm8, %%ymm8\n\t"
      "vpxor %%ymm9, %%ymm9, %%ymm9\n\t"
      "vpxor %%ymm10, %%ymm10, %%ymm10\n\t"
      "vpxor %%ymm11, %%ymm11, %%ymm11\n\t"
      "vpxor %%ymm12, %%ymm12, %%ymm12\n\t"
      "vpxor %%ymm13, %%ymm13, %%ymm13\n\t"
      "vpxor %%ymm14, %%ymm14, %%ymm14\n\t"
      "vpxor %%ymm15, %%ymm15, %%ymm15\n\t"
      "mov $4096, %%ecx\n\t"
      "1:\n\t"
      QB_MADD(1, 4) QB_MADD(2, 5) QB_MADD(1, 6) QB_MADD(2, 7)
      QB_MADD(1, 8) QB_MADD(2, 9) QB_MADD(1, 10) QB_MADD(2, 11)
      QB_MADD(1, 12) QB_MADD(2, 13) QB_MADD(1, 14) QB_MADD(2, 15)
      "dec %%ecx\n\t"
      "jnz 1b\n\t"
      "vpaddd %%ymm5, %%ymm4, %%ymm4\n\t"
      "vpaddd %%ymm7, %%ymm6, %%ymm6\n\t"
      "vpaddd %%ymm9, %%ymm8, %%ymm8\n\t"
      "vpaddd %%ymm11, %%ymm10, %%ymm10\n\t"
      "vpaddd %%ymm13, %%ymm12, %%ymm12\n\t"
      "vpaddd %%ymm15, %%ymm14, %%ymm14\n\t"
      "vpaddd %%ymm6, %%ymm4, %%ymm4\n\t"
      "vpaddd %%ymm10, %%ymm8, %%ymm8\n\t"
      "vpaddd %%ymm14, %%ymm12, %%ymm12\n\t"
      "vpaddd %%ymm8, %%ymm4, %%ymm4\n\t"
      "vpaddd %%ymm12, %%ymm4, %%ymm4\n\t"
      "vmovd %%xmm4, %0\n\t"
      "vzeroupper\n\t"
      : "=r"(out)
      :
      : "ecx", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6",
        "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",
        "xmm15");
  return out;
}

// One saturating step into ymm<acc>, through temporary ymm<t>: u8 (ymm0) x
// s8 (ymm<b>) pairs summed into int16 with saturation (vpmaddubsw), pairs of
// those summed into int32 (vpmaddwd with ones in ymm3), accumulated.
// clang-format off
#define QB_MADDUBS(b, t, acc)                         \
  "vpmaddubsw %%ymm" #b ", %%ymm0, %%ymm" #t "\n\t"   \
  "vpmaddwd %%ymm3, %%ymm" #t ", %%ymm" #t "\n\t"     \
  "vpaddd %%ymm" #t ", %%ymm" #acc ", %%ymm" #acc "\n\t"
// clang-format on

int32_t PeakU8S8Avx2() {
  int32_t out;
  __asm__ volatile(
      "vpcmpeqw %%ymm0, %%ymm0, %%ymm0\n\t"
      "vpabsw %%ymm0, %%ymm3\n\t"
      "vpabsb %%ymm0, %%ymm1\n\t"
      "vpaddb %%ymm1, %%ymm1, %%ymm2\n\t"
      "vpxor %%ymm6, %%ymm6, %%ymm6\n\t"
      "vpxor %%ymm7, %%ymm7, %%ymm7\n\t"
      "vpxor %%ymm8, %%ymm8, %%ymm8\n\t"
      "vpxor %%ymm9, %%ymm9, %%ymm9\n\t"
      "vpxor %%ymm10, %%ymm10, %%ymm10\n\t"
      "vpxor %%ymm11, %%ymm11, %%ymm11\n\t"
      "vpxor %%ymm12, %%ymm12, %%ymm12\n\t"
      "vpxor %%ymm13, %%ymm13, %%ymm13\n\t"
      "vpxor %%ymm14, %%ymm14, %%ymm14\n\t"
      "vpxor %%ymm15, %%ymm15, %%ymm15\n\t"
      "mov $4096, %%ecx\n\t"
      "1:\n\t"
      QB_MADDUBS(1, 4, 6) QB_MADDUBS(2, 5, 7) QB_MADDUBS(1, 4, 8)
      QB_MADDUBS(2, 5, 9) QB_MADDUBS(1, 4, 10) QB_MADDUBS(2, 5, 11)
      QB_MADDUBS(1, 4, 12) QB_MADDUBS(2, 5, 13) QB_MADDUBS(1, 4, 14)
      QB_MADDUBS(2, 5, 15)
      "dec %%ecx\n\t"
      "jnz 1b\n\t"
      "vpaddd %%ymm7, %%ymm6, %%ymm6\n\t"
      "vpaddd %%ymm9, %%ymm8, %%ymm8\n\t"
      "vpaddd %%ymm11, %%ymm10, %%ymm10\n\t"
      "vpaddd %%ymm13, %%ymm12, %%ymm12\n\t"
      "vpaddd %%ymm15, %%ymm14, %%ymm14\n\t"
      "vpaddd %%ymm8, %%ymm6, %%ymm6\n\t"
      "vpaddd %%ymm12, %%ymm10, %%ymm10\n\t"
      "vpaddd %%ymm14, %%ymm6, %%ymm6\n\t"
      "vpaddd %%ymm10, %%ymm6, %%ymm6\n\t"
      "vmovd %%xmm6, %0\n\t"
      "vzeroupper\n\t"
      : "=r"(out)
      :
      : "ecx", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6",
        "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",
        "xmm15");
  return out;
}

}  // namespace qgemm_bench

// The exact ceiling of an AVX-512 VNNI core: vpdpbusd on zmm (u8 x s8, four
// products added to each int32 lane without intermediate saturation: exact
// for uint8 x (uint8 - 128)), 16 independent accumulators, registers only.
// Inline assembly for the same reason as peak_avx2.cc. Compiled with
// -mavx512f -mavx512bw -mavx512vnni (this file only; called only when the
// CPU has AVX-512 VNNI); includes nothing but <cstdint>.
#include <cstdint>

#include "peak_avx2.h"

namespace qgemm_bench {

#define QB_DPBUSD(b, acc) "vpdpbusd %%zmm" #b ", %%zmm0, %%zmm" #acc "\n\t"
#define QB_ZERO(r) "vpxord %%zmm" #r ", %%zmm" #r ", %%zmm" #r "\n\t"
#define QB_ADD(a, b) "vpaddd %%zmm" #b ", %%zmm" #a ", %%zmm" #a "\n\t"

int32_t PeakExactAvx512Vnni() {
  int32_t out;
  __asm__ volatile(
      "vpternlogd $0xff, %%zmm0, %%zmm0, %%zmm0\n\t"
      "vpabsb %%zmm0, %%zmm1\n\t"
      "vpaddb %%zmm1, %%zmm1, %%zmm2\n\t"
      QB_ZERO(16) QB_ZERO(17) QB_ZERO(18) QB_ZERO(19) QB_ZERO(20) QB_ZERO(21)
      QB_ZERO(22) QB_ZERO(23) QB_ZERO(24) QB_ZERO(25) QB_ZERO(26) QB_ZERO(27)
      QB_ZERO(28) QB_ZERO(29) QB_ZERO(30) QB_ZERO(31)
      "mov $4096, %%ecx\n\t"
      "1:\n\t"
      QB_DPBUSD(1, 16) QB_DPBUSD(2, 17) QB_DPBUSD(1, 18) QB_DPBUSD(2, 19)
      QB_DPBUSD(1, 20) QB_DPBUSD(2, 21) QB_DPBUSD(1, 22) QB_DPBUSD(2, 23)
      QB_DPBUSD(1, 24) QB_DPBUSD(2, 25) QB_DPBUSD(1, 26) QB_DPBUSD(2, 27)
      QB_DPBUSD(1, 28) QB_DPBUSD(2, 29) QB_DPBUSD(1, 30) QB_DPBUSD(2, 31)
      "dec %%ecx\n\t"
      "jnz 1b\n\t"
      QB_ADD(16, 17) QB_ADD(18, 19) QB_ADD(20, 21) QB_ADD(22, 23)
      QB_ADD(24, 25) QB_ADD(26, 27) QB_ADD(28, 29) QB_ADD(30, 31)
      QB_ADD(16, 18) QB_ADD(20, 22) QB_ADD(24, 26) QB_ADD(28, 30)
      QB_ADD(16, 20) QB_ADD(24, 28) QB_ADD(16, 24)
      "vmovd %%xmm16, %0\n\t"
      "vzeroupper\n\t"
      : "=r"(out)
      :
      : "ecx", "cc", "xmm0", "xmm1", "xmm2", "xmm16", "xmm17", "xmm18",
        "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26",
        "xmm27", "xmm28", "xmm29", "xmm30", "xmm31");
  return out;
}

}  // namespace qgemm_bench

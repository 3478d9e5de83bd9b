// The exact ceiling of an AVX-512 VNNI core: vpdpbusd (u8 x s8, four
// products added to an int32 lane without intermediate saturation), 12
// independent accumulators, registers only. Compiled with -mavx512f
// -mavx512bw -mavx512vnni (this file only; called only when the CPU has
// AVX-512 VNNI). Includes nothing but <immintrin.h> and <cstdint>.
#include <immintrin.h>

#include <cstdint>

#include "peak_avx2.h"

namespace qgemm_bench {

int32_t PeakExactAvx512Vnni() {
  __m512i x0 = _mm512_set1_epi8(3), x1 = _mm512_set1_epi8(5);
  __m512i y0 = _mm512_set1_epi8(7), y1 = _mm512_set1_epi8(11);
  __m512i c0 = _mm512_setzero_si512(), c1 = c0, c2 = c0, c3 = c0, c4 = c0,
          c5 = c0, c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
  for (int step = 0; step < 4096; ++step) {
    __asm__ volatile("" : "+v"(x0), "+v"(x1), "+v"(y0), "+v"(y1));
    c0 = _mm512_dpbusd_epi32(c0, x0, y0);
    c1 = _mm512_dpbusd_epi32(c1, x1, y0);
    c2 = _mm512_dpbusd_epi32(c2, x0, y1);
    c3 = _mm512_dpbusd_epi32(c3, x1, y1);
    c4 = _mm512_dpbusd_epi32(c4, y0, x0);
    c5 = _mm512_dpbusd_epi32(c5, y1, x0);
    c6 = _mm512_dpbusd_epi32(c6, y0, x1);
    c7 = _mm512_dpbusd_epi32(c7, y1, x1);
    c8 = _mm512_dpbusd_epi32(c8, x0, x1);
    c9 = _mm512_dpbusd_epi32(c9, y0, y1);
    c10 = _mm512_dpbusd_epi32(c10, x0, x0);
    c11 = _mm512_dpbusd_epi32(c11, y1, y1);
  }
  __m512i s =
      _mm512_add_epi32(_mm512_add_epi32(c0, c1), _mm512_add_epi32(c2, c3));
  s = _mm512_add_epi32(
      s, _mm512_add_epi32(_mm512_add_epi32(c4, c5), _mm512_add_epi32(c6, c7)));
  s = _mm512_add_epi32(s, _mm512_add_epi32(_mm512_add_epi32(c8, c9),
                                           _mm512_add_epi32(c10, c11)));
  alignas(64) int32_t lanes[16];
  _mm512_store_si512(lanes, s);
  return lanes[0];
}

}  // namespace qgemm_bench

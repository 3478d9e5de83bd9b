// The ceiling of this core's integer multiply-accumulate rate, measured with
// loops that never touch memory: only the multiply and add instructions a
// GEMM micro-kernel cannot avoid, with enough independent accumulators to
// cover their latency (5 cycles x 2 ports for vpmaddwd on current cores).
//
// Compiled with -mavx2 (this file only; called only when the CPU has AVX2).
// Includes nothing but <immintrin.h> and <cstdint> (toolchains.md 4.1).
//
// The empty asm statements tell the compiler the multiplicands may change
// every step, so it cannot hoist the products out of the loop; they cost no
// instruction.
#include "peak_avx2.h"

#include <immintrin.h>

#include <cstdint>

namespace qgemm_bench {
namespace {

inline __m256i Sum4(__m256i a, __m256i b, __m256i c, __m256i d) {
  return _mm256_add_epi32(_mm256_add_epi32(a, b), _mm256_add_epi32(c, d));
}

inline int32_t Lane0(__m256i v) { return _mm256_cvtsi256_si32(v); }

}  // namespace

int32_t PeakExactAvx2() {
  __m256i x0 = _mm256_set1_epi16(3), x1 = _mm256_set1_epi16(5);
  __m256i y0 = _mm256_set1_epi16(7), y1 = _mm256_set1_epi16(11);
  __m256i c0 = _mm256_setzero_si256(), c1 = c0, c2 = c0, c3 = c0, c4 = c0,
          c5 = c0, c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
  for (int step = 0; step < 4096; ++step) {
    __asm__ volatile("" : "+x"(x0), "+x"(x1), "+x"(y0), "+x"(y1));
    c0 = _mm256_add_epi32(c0, _mm256_madd_epi16(x0, y0));
    c1 = _mm256_add_epi32(c1, _mm256_madd_epi16(x1, y0));
    c2 = _mm256_add_epi32(c2, _mm256_madd_epi16(x0, y1));
    c3 = _mm256_add_epi32(c3, _mm256_madd_epi16(x1, y1));
    c4 = _mm256_add_epi32(c4, _mm256_madd_epi16(y0, x0));
    c5 = _mm256_add_epi32(c5, _mm256_madd_epi16(y1, x0));
    c6 = _mm256_add_epi32(c6, _mm256_madd_epi16(y0, x1));
    c7 = _mm256_add_epi32(c7, _mm256_madd_epi16(y1, x1));
    c8 = _mm256_add_epi32(c8, _mm256_madd_epi16(x0, x1));
    c9 = _mm256_add_epi32(c9, _mm256_madd_epi16(y0, y1));
    c10 = _mm256_add_epi32(c10, _mm256_madd_epi16(x0, x0));
    c11 = _mm256_add_epi32(c11, _mm256_madd_epi16(y1, y1));
  }
  const __m256i s = _mm256_add_epi32(
      Sum4(c0, c1, c2, c3),
      _mm256_add_epi32(Sum4(c4, c5, c6, c7), Sum4(c8, c9, c10, c11)));
  return Lane0(s);
}

int32_t PeakU8S8Avx2() {
  __m256i x0 = _mm256_set1_epi8(3), x1 = _mm256_set1_epi8(5);
  __m256i y0 = _mm256_set1_epi8(7);
  __m256i ones = _mm256_set1_epi16(1);
  __m256i c0 = _mm256_setzero_si256(), c1 = c0, c2 = c0, c3 = c0, c4 = c0,
          c5 = c0, c6 = c0, c7 = c0;
  for (int step = 0; step < 4096; ++step) {
    __asm__ volatile("" : "+x"(x0), "+x"(x1), "+x"(y0), "+x"(ones));
    c0 = _mm256_add_epi32(
        c0, _mm256_madd_epi16(_mm256_maddubs_epi16(x0, y0), ones));
    c1 = _mm256_add_epi32(
        c1, _mm256_madd_epi16(_mm256_maddubs_epi16(x1, y0), ones));
    c2 = _mm256_add_epi32(
        c2, _mm256_madd_epi16(_mm256_maddubs_epi16(y0, x0), ones));
    c3 = _mm256_add_epi32(
        c3, _mm256_madd_epi16(_mm256_maddubs_epi16(y0, x1), ones));
    c4 = _mm256_add_epi32(
        c4, _mm256_madd_epi16(_mm256_maddubs_epi16(x0, x1), ones));
    c5 = _mm256_add_epi32(
        c5, _mm256_madd_epi16(_mm256_maddubs_epi16(x1, x0), ones));
    c6 = _mm256_add_epi32(
        c6, _mm256_madd_epi16(_mm256_maddubs_epi16(x0, x0), ones));
    c7 = _mm256_add_epi32(
        c7, _mm256_madd_epi16(_mm256_maddubs_epi16(y0, y0), ones));
  }
  const __m256i s =
      _mm256_add_epi32(Sum4(c0, c1, c2, c3), Sum4(c4, c5, c6, c7));
  return Lane0(s);
}

}  // namespace qgemm_bench

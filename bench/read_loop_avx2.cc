// The AVX2 read loop (read_loop.h): 8 ymm loads (256 bytes) per step, each
// into its own accumulator. Compiled with -mavx2 (this file only).
#include <immintrin.h>

#include "read_loop.h"

namespace qgemm_bench {

uint64_t ReadLoopAvx2(const uint8_t* data, size_t size) {
  __m256i acc[8];
  for (auto& a : acc) a = _mm256_setzero_si256();
  for (size_t i = 0; i < size; i += 256) {
    for (int v = 0; v < 8; ++v) {
      acc[v] = _mm256_add_epi64(
          acc[v], _mm256_load_si256(
                      reinterpret_cast<const __m256i*>(data + i + 32 * v)));
    }
  }
  __m256i sum = acc[0];
  for (int v = 1; v < 8; ++v) sum = _mm256_add_epi64(sum, acc[v]);
  alignas(32) uint64_t lanes[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), sum);
  return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}

}  // namespace qgemm_bench

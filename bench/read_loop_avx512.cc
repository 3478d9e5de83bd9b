// The AVX-512 read loop (read_loop.h): 8 zmm loads (512 bytes) per step,
// each into its own accumulator. Compiled with -mavx512f (this file only).
#include <immintrin.h>

#include "read_loop.h"

namespace qgemm_bench {

uint64_t ReadLoopAvx512(const uint8_t* data, size_t size) {
  __m512i acc[8];
  for (auto& a : acc) a = _mm512_setzero_si512();
  for (size_t i = 0; i < size; i += 512) {
    for (int v = 0; v < 8; ++v) {
      acc[v] = _mm512_add_epi64(
          acc[v],
          _mm512_load_si512(static_cast<const void*>(data + i + 64 * v)));
    }
  }
  __m512i sum = acc[0];
  for (int v = 1; v < 8; ++v) sum = _mm512_add_epi64(sum, acc[v]);
  // Through memory: GCC 12's _mm512_reduce_add_epi64 trips -Wuninitialized.
  alignas(64) uint64_t lanes[8];
  _mm512_store_si512(static_cast<void*>(lanes), sum);
  uint64_t total = 0;
  for (uint64_t lane : lanes) total += lane;
  return total;
}

}  // namespace qgemm_bench

// The exact ceiling of an AMX-INT8 core: TDPBUUD (u8 x u8, four products
// added to each int32 element with 32-bit wrap-around, no saturation: exact
// for uint8 data with no offset at all), 4 independent accumulator tiles fed
// by 2 A and 2 B tiles loaded once: the tile unit alone, no memory traffic
// in the loop. (TDPBUSD, which the amx table runs, has the same published
// throughput.) Compiled with -mamx-tile -mamx-int8 (this file only); called
// only when qgemm runs its amx ISA here, so the CPU has AMX and Linux has
// granted this process the tile state (qgemm's enable hook asked).
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "peak_avx2.h"

namespace qgemm_bench {

int32_t PeakExactAmx() {
  struct alignas(64) {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
  } config;
  std::memset(&config, 0, sizeof config);
  config.palette = 1;
  for (int t = 0; t < 8; ++t) {
    config.rows[t] = 16;
    config.colsb[t] = 64;
  }
  alignas(64) static uint8_t operand[16 * 64];
  alignas(64) int32_t out[16 * 16];
  std::memset(operand, 1, sizeof operand);
  asm volatile("" ::: "memory");  // the stores, before LDTILECFG and loads
  _tile_loadconfig(&config);
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  _tile_loadd(4, operand, 64);
  _tile_loadd(5, operand, 64);
  _tile_loadd(6, operand, 64);
  _tile_loadd(7, operand, 64);
  for (int i = 0; i < kPeakAmxSteps; ++i) {
    _tile_dpbuud(0, 4, 6);
    _tile_dpbuud(1, 4, 7);
    _tile_dpbuud(2, 5, 6);
    _tile_dpbuud(3, 5, 7);
  }
  _tile_stored(0, out, 64);
  _tile_release();
  return out[0];
}

}  // namespace qgemm_bench

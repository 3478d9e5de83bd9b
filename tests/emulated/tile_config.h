// The 64-byte LDTILECFG operand (Intel SDM vol. 2, "LDTILECFG": palette,
// start_row, 14 reserved bytes, colsb of tiles 0..15, rows of tiles 0..15),
// palette 1 and every tile unconfigured by default: what the tile tests
// hand to LDTILECFG, through the model (amx_tile_model_test.cc) or the
// instruction itself (amx_trap_test.cc).
#ifndef QGEMM_TESTS_EMULATED_TILE_CONFIG_H_
#define QGEMM_TESTS_EMULATED_TILE_CONFIG_H_

#include <cstdint>

namespace qgemm_test {

struct alignas(64) TileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};
static_assert(sizeof(TileConfig) == 64, "LDTILECFG reads 64 bytes");

}  // namespace qgemm_test

#endif  // QGEMM_TESTS_EMULATED_TILE_CONFIG_H_

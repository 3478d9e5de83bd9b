// The tile model that stands in for AMX (amx_tile_model.h) against the
// architectural semantics written out independently here: TDPBUSD and
// TDPBUUD as int64 sums reduced modulo 2^32, rows / colsb from the
// configuration (loads zero the rest, stores write only their bytes), and
// the faults of the hardware as aborts. The kernel tests trust this model
// for amx_emulated, so it is checked on its own first.
#include "tests/emulated/amx_tile_model.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/emulated/tile_config.h"

namespace {

namespace model = qgemm::amx_model;

using Config = qgemm_test::TileConfig;

Config Uniform(uint8_t rows, uint16_t colsb) {
  Config c;
  for (int t = 0; t < 8; ++t) {
    c.rows[t] = rows;
    c.colsb[t] = colsb;
  }
  return c;
}

// C (16 x 16 int32) += A (16 x 64 bytes) . B (16 x 64 bytes, VNNI-4), the
// SDM's formula in int64, reduced modulo 2^32 at the end.
std::vector<uint32_t> Reference(const std::vector<uint32_t>& c0,
                                const uint8_t* a, const uint8_t* b,
                                bool signed_b, int rows, int k_quads,
                                int n_cols) {
  std::vector<uint32_t> c = c0;
  for (int m = 0; m < rows; ++m) {
    for (int n = 0; n < n_cols; ++n) {
      int64_t sum = 0;
      for (int k = 0; k < k_quads; ++k) {
        for (int q = 0; q < 4; ++q) {
          const int64_t av = a[m * 64 + 4 * k + q];
          const uint8_t braw = b[k * 64 + 4 * n + q];
          const int64_t bv = signed_b ? static_cast<int8_t>(braw) : braw;
          sum += av * bv;
        }
      }
      c[m * 16 + n] = static_cast<uint32_t>(
          (static_cast<uint64_t>(c[m * 16 + n]) + static_cast<uint64_t>(sum)) &
          0xFFFFFFFFu);
    }
  }
  return c;
}

class AmxTileModel : public testing::Test {
 protected:
  void TearDown() override { _tile_release(); }
};

TEST_F(AmxTileModel, DotProductsMatchTheArchitecturalFormulaAndWrap) {
  std::mt19937 rng(13);
  for (bool signed_b : {true, false}) {
    for (int trial = 0; trial < 20; ++trial) {
      const Config config = Uniform(16, 64);
      _tile_loadconfig(&config);
      uint8_t a[16 * 64], b[16 * 64];
      std::vector<uint32_t> c0(16 * 16);
      for (auto& x : a) x = static_cast<uint8_t>(rng());
      for (auto& x : b) x = static_cast<uint8_t>(rng());
      // Extremes: all 255 (the largest u8 x u8 sums), and C near the int32
      // limits so that one TDP wraps.
      if (trial == 0) {
        std::memset(a, 255, sizeof a);
        std::memset(b, signed_b ? 0x80 : 255, sizeof b);
      }
      for (auto& x : c0) {
        x = trial % 2 ? 0x7FFFFF00u + (rng() & 0xFF)
                      : 0x80000000u + (rng() & 0xFF);
      }
      _tile_loadd(0, c0.data(), 64);
      _tile_loadd(4, a, 64);
      _tile_loadd(6, b, 64);
      if (signed_b) {
        _tile_dpbusd(0, 4, 6);
      } else {
        _tile_dpbuud(0, 4, 6);
      }
      std::vector<uint32_t> c(16 * 16);
      _tile_stored(0, c.data(), 64);
      EXPECT_EQ(c, Reference(c0, a, b, signed_b, 16, 16, 16))
          << "signed_b " << signed_b << " trial " << trial;
    }
  }
}

TEST_F(AmxTileModel, RowsAndColsbOfTheConfigurationShapeEveryInstruction) {
  // A: 3 rows x 8 bytes (2 k-quads), B: 2 rows x 12 bytes (3 columns),
  // C: 3 rows x 12 bytes.
  Config config;
  config.rows[0] = 3;
  config.colsb[0] = 12;
  config.rows[4] = 3;
  config.colsb[4] = 8;
  config.rows[6] = 2;
  config.colsb[6] = 12;
  _tile_loadconfig(&config);
  uint8_t a[16 * 64], b[16 * 64];
  std::mt19937 rng(7);
  for (auto& x : a) x = static_cast<uint8_t>(rng());
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  _tile_zero(0);
  _tile_loadd(4, a, 64);
  _tile_loadd(6, b, 64);
  _tile_dpbusd(0, 4, 6);
  // Stored with stride 64 over a sentinel: only 3 rows x 12 bytes change.
  uint8_t out[16 * 64];
  std::memset(out, 0xA5, sizeof out);
  _tile_stored(0, out, 64);
  // The reference reads only what the tiles hold: A's first 8 bytes per
  // row, B's first 12 bytes of 2 rows.
  const std::vector<uint32_t> expect =
      Reference(std::vector<uint32_t>(16 * 16, 0), a, b, true, 3, 2, 3);
  for (int r = 0; r < 16; ++r) {
    for (int byte = 0; byte < 64; ++byte) {
      if (r < 3 && byte < 12) {
        uint32_t v;
        std::memcpy(&v, &out[r * 64 + (byte & ~3)], 4);
        EXPECT_EQ(v, expect[r * 16 + byte / 4]) << r << " " << byte;
      } else {
        EXPECT_EQ(out[r * 64 + byte], 0xA5) << r << " " << byte;
      }
    }
  }
}

TEST_F(AmxTileModel, LoadConfigZeroesTilesAndReleaseUnconfigures) {
  const Config config = Uniform(16, 64);
  _tile_loadconfig(&config);
  uint8_t ones[16 * 64];
  std::memset(ones, 1, sizeof ones);
  _tile_loadd(2, ones, 64);
  _tile_loadconfig(&config);
  uint8_t out[16 * 64];
  std::memset(out, 9, sizeof out);
  _tile_stored(2, out, 64);
  for (uint8_t x : out) ASSERT_EQ(x, 0);
  _tile_release();
  EXPECT_FALSE(model::t_state.configured);
}

// The faulting sequences, as functions (death-test macros split commas).
void UseAfterRelease() {
  const Config c = Uniform(16, 64);
  _tile_loadconfig(&c);
  _tile_release();
  _tile_zero(1);
}
void LoadPalette2() {
  Config c = Uniform(16, 64);
  c.palette = 2;
  _tile_loadconfig(&c);
}
void ConfigureTile9() {
  Config c = Uniform(16, 64);
  c.rows[9] = 1;
  c.colsb[9] = 4;
  _tile_loadconfig(&c);
}
void MismatchedDepth() {
  Config c = Uniform(16, 64);
  c.rows[6] = 8;  // B of 8 k-quads against A of 16
  _tile_loadconfig(&c);
  _tile_dpbusd(0, 4, 6);
}
void SameTileTwice() {
  const Config c = Uniform(16, 64);
  _tile_loadconfig(&c);
  _tile_dpbusd(0, 0, 6);
}
void LoadWithoutConfig() {
  uint8_t buf[16 * 64] = {};
  _tile_loadd(0, buf, 64);
}

struct TileFault : std::runtime_error {
  using std::runtime_error::runtime_error;
};
void ThrowFault(const char* what) { throw TileFault(what); }

// The fault's message, or "" if the sequence ran without one.
std::string FaultOf(void (*sequence)()) {
  model::t_fault_hook = ThrowFault;
  std::string what;
  try {
    sequence();
  } catch (const TileFault& fault) {
    what = fault.what();
  }
  model::t_fault_hook = nullptr;
  _tile_release();
  return what;
}

TEST_F(AmxTileModel, FaultsWhereTheHardwareFaults) {
  EXPECT_NE(FaultOf(LoadWithoutConfig).find("#UD: tile instruction without"),
            std::string::npos)
      << FaultOf(LoadWithoutConfig);
  EXPECT_NE(FaultOf(UseAfterRelease).find("without LDTILECFG"),
            std::string::npos)
      << FaultOf(UseAfterRelease);
  EXPECT_NE(FaultOf(LoadPalette2).find("#GP: LDTILECFG palette"),
            std::string::npos)
      << FaultOf(LoadPalette2);
  EXPECT_NE(FaultOf(ConfigureTile9).find("palette 1 has 8 tiles"),
            std::string::npos)
      << FaultOf(ConfigureTile9);
  EXPECT_NE(FaultOf(MismatchedDepth).find("shapes do not agree"),
            std::string::npos)
      << FaultOf(MismatchedDepth);
  EXPECT_NE(FaultOf(SameTileTwice).find("not distinct"), std::string::npos)
      << FaultOf(SameTileTwice);
  // And a sequence that keeps the rules raises none.
  EXPECT_EQ(FaultOf([] {
              const Config c = Uniform(16, 64);
              _tile_loadconfig(&c);
              _tile_zero(0);
              _tile_dpbusd(0, 4, 6);
            }),
            "");
}

}  // namespace

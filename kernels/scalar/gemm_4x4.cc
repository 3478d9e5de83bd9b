// Scalar 4x4 micro-kernel: the portable fallback every build has.
//
// Tile: acc[4][4] int32 (uint32 arithmetic, so the sum wraps as
// docs/design.md defines, without signed-overflow UB). Packed panels (KR = 1):
//   A: k x [a0 a1 a2 a3]    B: k x [b0 b1 b2 b3]
// Step p adds the outer product A[p][0..3] x B[p][0..3].
//
// Exactness: each product is at most 255 * 255 and the sum wraps modulo 2^32,
// the same ring the offsets and the reference use.
#include <cstring>

#include "dispatch/kernel_table.h"
#include "kernels/scalar/output_stage.h"
#include "kernels/scalar/pack.h"

namespace qgemm {
namespace {

constexpr size_t kMR = 4;
constexpr size_t kNR = 4;
static_assert(kNR <= scalar::kMaxPackNR, "PackBPanel's column sums");

// Accumulates the tile and adds the row and column offsets.
void AccumulateTile(const TileArgs& t, int32_t out[kMR][kNR]) {
  uint32_t acc[kMR][kNR] = {};
  const auto* a = static_cast<const uint8_t*>(t.a_panel);
  const auto* b = static_cast<const uint8_t*>(t.b_panel);
  for (size_t p = 0; p < t.k_padded; ++p) {
    for (size_t i = 0; i < kMR; ++i) {
      const uint32_t ai = a[p * kMR + i];
      for (size_t j = 0; j < kNR; ++j) acc[i][j] += ai * b[p * kNR + j];
    }
  }
  for (size_t i = 0; i < kMR; ++i) {
    for (size_t j = 0; j < kNR; ++j) {
      out[i][j] = static_cast<int32_t>(
          acc[i][j] + static_cast<uint32_t>(t.row_offset[i]) +
          static_cast<uint32_t>(t.cols.col_offset[j]));
    }
  }
}

void GemmU8Tile(const TileArgs* t) {
  int32_t acc[kMR][kNR];
  AccumulateTile(*t, acc);
  auto* c = static_cast<uint8_t*>(t->c);
  for (size_t i = 0; i < t->m_eff; ++i) {
    for (size_t j = 0; j < t->n_eff; ++j) {
      c[i * t->ldc + j] = scalar::Requantize(
          acc[i][j], t->cols.multiplier[j], t->cols.left_shift[j],
          t->cols.right_shift[j], t->clamp->c_zero_point, t->clamp->c_min,
          t->clamp->c_max);
    }
  }
}

void GemmS32Tile(const TileArgs* t) {
  int32_t acc[kMR][kNR];
  AccumulateTile(*t, acc);
  auto* c = static_cast<int32_t*>(t->c);
  for (size_t i = 0; i < t->m_eff; ++i) {
    std::memcpy(c + i * t->ldc, acc[i], t->n_eff * sizeof(int32_t));
  }
}

void GemmF32Tile(const TileArgs* t) {
  int32_t acc[kMR][kNR];
  AccumulateTile(*t, acc);
  auto* c = static_cast<float*>(t->c);
  for (size_t i = 0; i < t->m_eff; ++i) {
    for (size_t j = 0; j < t->n_eff; ++j) {
      c[i * t->ldc + j] =
          scalar::Dequantize(acc[i][j], t->cols.scale[j], t->cols.bias_f[j]);
    }
  }
}

size_t APanelBytes(size_t k_padded) { return kMR * k_padded; }
size_t BPanelBytes(size_t k_padded) { return kNR * k_padded; }

void PackA(uint32_t /*variant*/, size_t k, size_t m_eff, const uint8_t* a,
           size_t lda, void* panel, int32_t* row_sums) {
  scalar::PackAPanel(kMR, k, m_eff, a, lda, static_cast<uint8_t*>(panel),
                     row_sums);
}

void PackB(uint32_t /*variant*/, size_t k, size_t n_eff, const uint8_t* b,
           size_t ldb, int nk_layout, void* panel, int32_t* col_sums) {
  scalar::PackBPanel(kNR, k, n_eff, b, ldb, nk_layout,
                     static_cast<uint8_t*>(panel), col_sums);
}

}  // namespace

namespace scalar {
extern const KernelTable kTable;
const KernelTable kTable = {
    "scalar",
    /*packing_format=*/0x5C4401u,
    kMR,
    kNR,
    /*kr=*/1,
    APanelBytes,
    BPanelBytes,
    /*choose_variant=*/nullptr,
    PackA,
    PackB,
    /*b_packed_offset=*/{0, 0},
    {GemmU8Tile, nullptr},
    {GemmS32Tile, nullptr},
    {GemmF32Tile, nullptr},
    /*dot_rows_kn=*/nullptr,
    /*dot_rows_nr=*/0,
};
}  // namespace scalar

}  // namespace qgemm

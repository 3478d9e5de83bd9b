// The GemmU8 / GemmS32 / GemmF32 entries of a kernel table whose register tile
// is 6x16 int32 in 12 ymm registers, over kernels/avx2/output_stage.h. Shared
// by every x86 kernel of that shape:
//   kernels/avx2/gemm_6x16.cc                   (-mavx2 -mfma)
//   kernels/avxvnni/gemm_6x16_vpdpbusd.inl      (-mavx2 -mfma -mavxvnni, and
//                                                its SIMDe build in tests/)
// Each includes this file into its own translation unit, compiled with its
// own flags. Everything here is in an anonymous namespace, and Tile6x16 is
// instantiated with the includer's own (anonymous) depth loop, so every copy
// has internal linkage: the linker can never keep one built with wider
// flags for a caller built with narrower ones (docs/design.md, "Building
// per-ISA code"). The includer provides the AVX2 intrinsics first.
//
// Register tile, one int32 lane per column, rows >= kRows unused:
//
//              columns 0..7    columns 8..15
//     row 0  [ acc[0][0] ]   [ acc[0][1] ]
//      ...        ...             ...
//     row 5  [ acc[5][0] ]   [ acc[5][1] ]
//
// The depth loop leaves the exact int32 value of the tile in acc (wrapping
// vpaddd, modulo 2^32 as kernel_table.h states):
//   x = sum_k a[i][k] * b'[k][j] + row_offset[i] + col_offset[j]
// either by adding the offsets after its loop (AddTileOffsets) or by
// starting its accumulators from them, which saves the output stage 12 adds.
// The output stage itself is output_stage.h's.
#include <cstddef>
#include <cstdint>

#include "dispatch/kernel_table.h"
#include "kernels/avx2/output_stage.h"

namespace qgemm {
namespace {

using avx2::StoreTileF32;
using avx2::StoreTileS32;
using avx2::StoreTileU8;

// For depth loops that sum from zero: adds row_offset[i] + col_offset[j] to
// rows [0, kRows) of the raw sums.
template <int kRows>
__attribute__((always_inline)) inline void AddTileOffsets(
    const TileArgs& t, __m256i (&acc)[6][2]) {
  const __m256i off0 =
      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.cols.col_offset));
  const __m256i off1 = _mm256_loadu_si256(
      reinterpret_cast<const __m256i*>(t.cols.col_offset + 8));
#pragma GCC unroll 6
  for (int i = 0; i < kRows; ++i) {
    const __m256i r = _mm256_set1_epi32(t.row_offset[i]);
    acc[i][0] = _mm256_add_epi32(_mm256_add_epi32(acc[i][0], r), off0);
    acc[i][1] = _mm256_add_epi32(_mm256_add_epi32(acc[i][1], r), off1);
  }
}

// The table entries of a 6x16 kernel. DepthLoop::Run<kRows>(t, acc) fills
// acc[0..kRows)[0..1] with the tile's exact values, offsets included (see
// the top of this file; the other rows may hold anything). Rows are a
// compile-time constant of each instantiation: a partial tile computes only
// its m_eff rows.
template <class DepthLoop>
struct Tile6x16 {
  template <int kRows>
  static void GemmU8Tile(const TileArgs* args) {
    const TileArgs& t = *args;
    __m256i acc[6][2];
    DepthLoop::template Run<kRows>(t, acc);
    StoreTileU8<kRows, /*kAddOffsets=*/false>(t, acc);
  }

  template <int kRows>
  static void GemmS32Tile(const TileArgs* args) {
    const TileArgs& t = *args;
    __m256i acc[6][2];
    DepthLoop::template Run<kRows>(t, acc);
    StoreTileS32<kRows, /*kAddOffsets=*/false>(t, acc);
  }

  template <int kRows>
  static void GemmF32Tile(const TileArgs* args) {
    const TileArgs& t = *args;
    __m256i acc[6][2];
    DepthLoop::template Run<kRows>(t, acc);
    StoreTileF32<kRows, /*kAddOffsets=*/false>(t, acc);
  }

  static void GemmU8(const TileArgs* t) {
    switch (t->m_eff) {
      case 1:
        return GemmU8Tile<1>(t);
      case 2:
        return GemmU8Tile<2>(t);
      case 3:
        return GemmU8Tile<3>(t);
      case 4:
        return GemmU8Tile<4>(t);
      case 5:
        return GemmU8Tile<5>(t);
      default:
        return GemmU8Tile<6>(t);
    }
  }

  static void GemmS32(const TileArgs* t) {
    switch (t->m_eff) {
      case 1:
        return GemmS32Tile<1>(t);
      case 2:
        return GemmS32Tile<2>(t);
      case 3:
        return GemmS32Tile<3>(t);
      case 4:
        return GemmS32Tile<4>(t);
      case 5:
        return GemmS32Tile<5>(t);
      default:
        return GemmS32Tile<6>(t);
    }
  }

  static void GemmF32(const TileArgs* t) {
    switch (t->m_eff) {
      case 1:
        return GemmF32Tile<1>(t);
      case 2:
        return GemmF32Tile<2>(t);
      case 3:
        return GemmF32Tile<3>(t);
      case 4:
        return GemmF32Tile<4>(t);
      case 5:
        return GemmF32Tile<5>(t);
      default:
        return GemmF32Tile<6>(t);
    }
  }
};

}  // namespace
}  // namespace qgemm

// The output stage of a 6x16 int32 tile held in 12 ymm registers, and the
// GemmU8 / GemmS32 entries of a kernel table built on it. Shared by every
// x86 kernel whose register tile has this shape:
//   kernels/avx2/gemm_6x16.cc                   (-mavx2 -mfma)
//   kernels/avxvnni/gemm_6x16_vpdpbusd.inl      (-mavx2 -mfma -mavxvnni, and
//                                                its SIMDe build in tests/)
// Each includes this file into its own translation unit, compiled with its
// own flags. Everything here is in an anonymous namespace, and Tile6x16 is
// instantiated with the includer's own (anonymous) depth loop, so every copy
// has internal linkage: the linker can never keep one built with wider
// flags for a caller built with narrower ones (toolchains.md section 4.1).
// The includer provides the AVX2 intrinsics (<immintrin.h>) first.
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
//
// Output stage (DESIGN.md), 8 columns per ymm, per-column parameters:
//   saturating x * 2^left: vpsllvd, and where vpsravd does not give x back
//     the product left int32, so x = x < 0 ? INT32_MIN : INT32_MAX
//   SRDHM(x, M0) = floor((x*M0 + 2^30) / 2^31), which equals gemmlowp's
//     truncating form with its sign-dependent nudge (ties toward +inf);
//     x*M0 in 64 bits with vpmuldq on even and (shifted) odd lanes; bits
//     31..62 of the sum are the int32 result (a logical shift suffices as
//     the result fits int32), and INT32_MIN * INT32_MIN, whose result 2^31
//     wraps to INT32_MIN, is flipped to INT32_MAX
//   RDBPOT(x, right): (x >>a right) + (x & mask > (mask >> 1) + (x < 0)),
//     mask = 2^right - 1, per lane (vpsravd)
//   + zc and clamp on the narrowed values: vpackssdw, vpaddsw zc, vpackuswb,
//     vpmaxub c_min, vpminub c_max (exact: see StoreU8).
// Only m_eff x n_eff of C is written: full rows with one 16-byte store,
// partial rows with 8/4/2/1-byte stores (int32 output: vpmaskmovd).

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "dispatch/kernel_table.h"

namespace qgemm {
namespace {

// Constants of the output stage, read as memory operands (kept in registers
// they would compete with the 12 accumulators; GCC rematerializes them).
alignas(32) constexpr int64_t kNudge[4] = {int64_t{1} << 30, int64_t{1} << 30,
                                           int64_t{1} << 30, int64_t{1} << 30};
alignas(32) constexpr int32_t kInt32Min[8] = {INT32_MIN, INT32_MIN, INT32_MIN,
                                              INT32_MIN, INT32_MIN, INT32_MIN,
                                              INT32_MIN, INT32_MIN};
alignas(32) constexpr int32_t kInt32Max[8] = {INT32_MAX, INT32_MAX, INT32_MAX,
                                              INT32_MAX, INT32_MAX, INT32_MAX,
                                              INT32_MAX, INT32_MAX};

__m256i Constant(const void* p) {
  return _mm256_load_si256(static_cast<const __m256i*>(p));
}

// Output-stage constants of 8 columns.
struct Columns8 {
  __m256i mult_even;  // M0 (vpmuldq reads the even lanes)
  __m256i mult_odd;   // M0 of the odd lanes, moved to the even lanes
  __m256i mult_min;   // all ones where M0 == INT32_MIN
  __m256i left;       // left shift
  __m256i right;      // right shift
  __m256i rem_mask;   // 2^right - 1
  __m256i half_mask;  // (2^right - 1) >> 1
};

Columns8 LoadColumns8(const TileColumns& c, size_t j) {
  Columns8 s;
  const auto load = [j](const int32_t* p) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + j));
  };
  s.mult_even = load(c.multiplier);
  s.mult_odd = _mm256_srli_epi64(s.mult_even, 32);
  s.mult_min = _mm256_cmpeq_epi32(s.mult_even, Constant(kInt32Min));
  s.left = load(c.left_shift);
  s.right = load(c.right_shift);
  s.rem_mask = _mm256_sub_epi32(
      _mm256_sllv_epi32(_mm256_set1_epi32(1), s.right), _mm256_set1_epi32(1));
  s.half_mask = _mm256_srli_epi32(s.rem_mask, 1);
  return s;
}

// DESIGN.md's output stage on 8 lanes up to the zero point and clamp (done
// on the packed bytes, see StoreU8); x already holds the int32 sum with the
// row and column offsets. kGeneral = false skips the steps that are the
// identity when no column has a left shift and no multiplier is INT32_MIN
// (the tile checks; the API rejects negative multipliers anyway).
template <bool kGeneral>
__attribute__((always_inline)) inline __m256i Requantize8(__m256i x,
                                                          const Columns8& c) {
  if (kGeneral) {
    const __m256i shifted = _mm256_sllv_epi32(x, c.left);
    const __m256i fits =
        _mm256_cmpeq_epi32(_mm256_srav_epi32(shifted, c.left), x);
    // x < 0 ? INT32_MIN : INT32_MAX
    const __m256i saturated =
        _mm256_xor_si256(_mm256_srai_epi32(x, 31), Constant(kInt32Max));
    x = _mm256_blendv_epi8(saturated, shifted, fits);
  }
  // SaturatingRoundingDoublingHighMul.
  const __m256i even = _mm256_srli_epi64(
      _mm256_add_epi64(_mm256_mul_epi32(x, c.mult_even), Constant(kNudge)), 31);
  const __m256i odd = _mm256_slli_epi64(
      _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(x, 32), c.mult_odd),
                       Constant(kNudge)),
      1);
  __m256i y = _mm256_blend_epi32(even, odd, 0xAA);
  if (kGeneral) {
    const __m256i both_min = _mm256_and_si256(
        c.mult_min, _mm256_cmpeq_epi32(x, Constant(kInt32Min)));
    y = _mm256_xor_si256(y, both_min);  // INT32_MIN -> INT32_MAX
  }
  // RoundingDivideByPOT.
  const __m256i rem = _mm256_and_si256(y, c.rem_mask);
  const __m256i threshold =
      _mm256_sub_epi32(c.half_mask, _mm256_srai_epi32(y, 31));
  return _mm256_sub_epi32(_mm256_srav_epi32(y, c.right),
                          _mm256_cmpgt_epi32(rem, threshold));
}

// Stores the first n (< 16 or 16) bytes of v.
void StoreRowU8(uint8_t* dst, __m128i v, size_t n) {
  if (n >= 16) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), v);
    return;
  }
  if (n & 8) {
    _mm_storel_epi64(reinterpret_cast<__m128i*>(dst), v);
    v = _mm_srli_si128(v, 8);
    dst += 8;
  }
  if (n & 4) {
    const int32_t w = _mm_cvtsi128_si32(v);
    std::memcpy(dst, &w, 4);
    v = _mm_srli_si128(v, 4);
    dst += 4;
  }
  if (n & 2) {
    const uint16_t w = static_cast<uint16_t>(_mm_extract_epi16(v, 0));
    std::memcpy(dst, &w, 2);
    v = _mm_srli_si128(v, 2);
    dst += 2;
  }
  if (n & 1) *dst = static_cast<uint8_t>(_mm_cvtsi128_si32(v));
}

// Requantizes the first kRows rows of the tile and stores m_eff x n_eff.
template <int kRows, bool kGeneral>
__attribute__((always_inline)) inline void StoreU8(const TileArgs& t,
                                                   const Columns8& c0,
                                                   const Columns8& c1,
                                                   const __m256i (&acc)[6][2]) {
  // y = clamp(x + zc, c_min, c_max) through saturating steps: vpackssdw
  // (int16), vpaddsw zc, vpackuswb (uint8), then vpmaxub/vpminub. Each step
  // is monotone, and wherever vpackssdw or vpaddsw saturates, x + zc is
  // already below 0 or above 255 (0 <= zc <= 255), where vpackuswb then
  // gives 0 or 255 as clamp(x + zc, 0, 255) does. So the uint8 equals
  // clamp(x + zc, 0, 255), and clamping it to [c_min, c_max], a sub-range,
  // gives clamp(x + zc, c_min, c_max) exactly.
  const __m256i zc =
      _mm256_set1_epi16(static_cast<int16_t>(t.clamp->c_zero_point));
  const __m256i c_min = _mm256_set1_epi8(static_cast<char>(t.clamp->c_min));
  const __m256i c_max = _mm256_set1_epi8(static_cast<char>(t.clamp->c_max));
  // vpackssdw/vpackuswb interleave 128-bit lanes; this puts row i's 16
  // bytes in the low half and row i+1's in the high half.
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  auto* c = static_cast<uint8_t*>(t.c);

#pragma GCC unroll 3
  for (int i = 0; i < kRows; i += 2) {
    const int i1 = i + 1 < kRows ? i + 1 : i;
    const __m256i w0 = _mm256_adds_epi16(
        _mm256_packs_epi32(Requantize8<kGeneral>(acc[i][0], c0),
                           Requantize8<kGeneral>(acc[i][1], c1)),
        zc);
    const __m256i w1 =
        i1 != i ? _mm256_adds_epi16(
                      _mm256_packs_epi32(Requantize8<kGeneral>(acc[i1][0], c0),
                                         Requantize8<kGeneral>(acc[i1][1], c1)),
                      zc)
                : w0;
    const __m256i clamped = _mm256_min_epu8(
        _mm256_max_epu8(_mm256_packus_epi16(w0, w1), c_min), c_max);
    const __m256i bytes = _mm256_permutevar8x32_epi32(clamped, order);
    StoreRowU8(c + i * t.ldc, _mm256_castsi256_si128(bytes), t.n_eff);
    if (i1 != i) {
      StoreRowU8(c + i1 * t.ldc, _mm256_extracti128_si256(bytes, 1), t.n_eff);
    }
  }
}

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
    const Columns8 c0 = LoadColumns8(t.cols, 0), c1 = LoadColumns8(t.cols, 8);
    const __m256i left_any = _mm256_or_si256(c0.left, c1.left);
    const __m256i min_any = _mm256_or_si256(c0.mult_min, c1.mult_min);
    if (_mm256_testz_si256(left_any, left_any) &&
        _mm256_testz_si256(min_any, min_any)) {
      StoreU8<kRows, false>(t, c0, c1, acc);
    } else {
      StoreU8<kRows, true>(t, c0, c1, acc);
    }
  }

  template <int kRows>
  static void GemmS32Tile(const TileArgs* args) {
    const TileArgs& t = *args;
    __m256i acc[6][2];
    DepthLoop::template Run<kRows>(t, acc);

    const __m256i n = _mm256_set1_epi32(static_cast<int32_t>(t.n_eff));
    const __m256i mask0 =
        _mm256_cmpgt_epi32(n, _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    const __m256i mask1 =
        _mm256_cmpgt_epi32(n, _mm256_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15));
    auto* c = static_cast<int32_t*>(t.c);
#pragma GCC unroll 6
    for (int i = 0; i < kRows; ++i) {
      const __m256i v0 = acc[i][0];
      const __m256i v1 = acc[i][1];
      int32_t* row = c + i * t.ldc;
      if (t.n_eff >= 16) {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(row), v0);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(row + 8), v1);
      } else {
        _mm256_maskstore_epi32(row, mask0, v0);
        _mm256_maskstore_epi32(row + 8, mask1, v1);
      }
    }
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
};

}  // namespace
}  // namespace qgemm

// The AVX2 output stage of a tile of up to kMR rows x 16 columns held as
// int32 vectors: shared by every x86 kernel with a 6x16 ymm register tile,
// which call it on their accumulator registers (kernels/avx2/gemm_6x16.cc,
// kernels/avxvnni/gemm_6x16_vpdpbusd.inl and its SIMDe build, through
// output_stage_6x16.inl), and the dot-rows kernel (dot_rows_4x32.cc), which
// loads its sums into the same shape.
//
// Each includer compiles it with its own flags (-mavx2 -mfma, or with
// -mavxvnni too): everything here is in an anonymous namespace, so every
// copy has internal linkage and the linker can never keep one built with
// wider flags for a caller built with narrower ones (docs/design.md,
// "Building per-ISA code"). The includer provides AVX2 at least.
//
// Output stage (docs/design.md, "Output stage"), 8 columns per ymm,
// per-column parameters:
//   x = acc + row_offset[i] + col_offset[j]                    (vpaddd, wraps)
//   saturating x * 2^left: vpsllvd, and where vpsravd does not give x back
//     the product left int32, so x = x < 0 ? INT32_MIN : INT32_MAX
//   SRDHM(x, M0) = floor((x*M0 + 2^30) / 2^31), which equals gemmlowp's
//     truncating form with its sign-dependent nudge (ties toward +inf);
//     x*M0 in 64 bits with vpmuldq on even and (shifted) odd lanes; bits
//     31..62 of the sum are the int32 result (a logical shift suffices as
//     the result fits int32: M0 >= 0, which the API guarantees, rules out
//     SRDHM's one overflow, INT32_MIN * INT32_MIN)
//   RDBPOT(x, right): (x >>a right) + (x & mask > (mask >> 1) + (x < 0)),
//     mask = 2^right - 1, per lane (vpsravd)
//   + zc and clamp on the narrowed values: vpackssdw, vpaddsw zc, vpackuswb,
//     vpmaxub c_min, vpminub c_max (exact: see StoreU8).
// Float output: vcvtdq2ps (round to nearest even under the default MXCSR,
// as (float) in C) and vfmadd (one rounding, as fmaf), on the int32 x.
// Only m_eff x n_eff of C is written: full rows with one 16-byte store,
// partial rows with 8/4/2/1-byte stores (int32 and float output:
// vpmaskmovd / vmaskmovps).
#ifndef QGEMM_KERNELS_AVX2_OUTPUT_STAGE_H_
#define QGEMM_KERNELS_AVX2_OUTPUT_STAGE_H_

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "dispatch/kernel_table.h"
#include "kernels/avx2/pack.h"

namespace qgemm {
namespace avx2 {
namespace {

// Raw sums of a tile, row i columns 8h..8h+7 in acc[i][h] (rows past the
// ones used are ignored).
using Tile16 = __m256i[kMR][2];

// Constants of the output stage, read as memory operands (kept in registers
// they would compete with the 12 accumulators; GCC rematerializes them).
alignas(32) constexpr int64_t kNudge[4] = {int64_t{1} << 30, int64_t{1} << 30,
                                           int64_t{1} << 30, int64_t{1} << 30};
alignas(32) constexpr int32_t kInt32Max[8] = {INT32_MAX, INT32_MAX, INT32_MAX,
                                              INT32_MAX, INT32_MAX, INT32_MAX,
                                              INT32_MAX, INT32_MAX};

inline __m256i Constant(const void* p) {
  return _mm256_load_si256(static_cast<const __m256i*>(p));
}

// Output-stage constants of 8 columns.
struct Columns8 {
  __m256i offset;     // col_offset
  __m256i mult_even;  // M0 (vpmuldq reads the even lanes)
  __m256i mult_odd;   // M0 of the odd lanes, moved to the even lanes
  __m256i left;       // left shift
  __m256i right;      // right shift
  __m256i rem_mask;   // 2^right - 1
  __m256i half_mask;  // (2^right - 1) >> 1
};

inline Columns8 LoadColumns8(const TileColumns& c, size_t j) {
  Columns8 s;
  const auto load = [j](const int32_t* p) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + j));
  };
  s.offset = load(c.col_offset);
  s.mult_even = load(c.multiplier);
  s.mult_odd = _mm256_srli_epi64(s.mult_even, 32);
  s.left = load(c.left_shift);
  s.right = load(c.right_shift);
  s.rem_mask = _mm256_sub_epi32(
      _mm256_sllv_epi32(_mm256_set1_epi32(1), s.right), _mm256_set1_epi32(1));
  s.half_mask = _mm256_srli_epi32(s.rem_mask, 1);
  return s;
}

// The output stage (docs/design.md) on 8 lanes up to the zero point and
// clamp (done on the packed bytes, see GemmU8Tile); x already holds the int32
// sum with the row and column offsets. kLeftShift = false skips the saturating
// left shift, the identity when no column of the tile has one (the tile
// checks).
template <bool kLeftShift>
__attribute__((always_inline)) inline __m256i Requantize8(__m256i x,
                                                          const Columns8& c) {
  if (kLeftShift) {
    const __m256i shifted = _mm256_sllv_epi32(x, c.left);
    const __m256i fits =
        _mm256_cmpeq_epi32(_mm256_srav_epi32(shifted, c.left), x);
    // x < 0 ? INT32_MIN : INT32_MAX
    const __m256i saturated =
        _mm256_xor_si256(_mm256_srai_epi32(x, 31), Constant(kInt32Max));
    x = _mm256_blendv_epi8(saturated, shifted, fits);
  }
  // SaturatingRoundingDoublingHighMul; M0 >= 0, so it never saturates.
  const __m256i even = _mm256_srli_epi64(
      _mm256_add_epi64(_mm256_mul_epi32(x, c.mult_even), Constant(kNudge)), 31);
  const __m256i odd = _mm256_slli_epi64(
      _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(x, 32), c.mult_odd),
                       Constant(kNudge)),
      1);
  const __m256i y = _mm256_blend_epi32(even, odd, 0xAA);
  // RoundingDivideByPOT.
  const __m256i rem = _mm256_and_si256(y, c.rem_mask);
  const __m256i threshold =
      _mm256_sub_epi32(c.half_mask, _mm256_srai_epi32(y, 31));
  return _mm256_sub_epi32(_mm256_srav_epi32(y, c.right),
                          _mm256_cmpgt_epi32(rem, threshold));
}

// Stores the first n (< 16 or 16) bytes of v.
inline void StoreRowU8(uint8_t* dst, __m128i v, size_t n) {
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

// Requantizes the first kRows rows of the tile and stores kRows x n_eff.
// kAddOffsets: acc holds raw sums, to which row_offset[i] + col_offset[j] are
// added first; else acc already includes them (a depth loop that starts
// its accumulators from them).
template <int kRows, bool kLeftShift, bool kAddOffsets>
__attribute__((always_inline)) inline void StoreU8(const TileArgs& t,
                                                   const Columns8& c0,
                                                   const Columns8& c1,
                                                   const Tile16& acc) {
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
    const __m256i r0 = _mm256_set1_epi32(t.row_offset[i]);
    const __m256i r1 = _mm256_set1_epi32(t.row_offset[i1]);
    const auto out = [&](__m256i a, __m256i r, const Columns8& cs)
        __attribute__((always_inline)) {
      return Requantize8<kLeftShift>(
          kAddOffsets ? _mm256_add_epi32(_mm256_add_epi32(a, r), cs.offset) : a,
          cs);
    };
    const __m256i w0 = _mm256_adds_epi16(
        _mm256_packs_epi32(out(acc[i][0], r0, c0), out(acc[i][1], r0, c1)), zc);
    const __m256i w1 =
        i1 != i ? _mm256_adds_epi16(_mm256_packs_epi32(out(acc[i1][0], r1, c0),
                                                       out(acc[i1][1], r1, c1)),
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

// uint8 C: requantizes rows [0, kRows) of acc with the 16 columns of
// t.cols and stores t.n_eff (<= 16) bytes of each. Reads row_offset, cols,
// clamp, c, ldc and n_eff of t, nothing of the operands.
template <int kRows, bool kAddOffsets = true>
__attribute__((always_inline)) inline void StoreTileU8(const TileArgs& t,
                                                       const Tile16& acc) {
  const Columns8 c0 = LoadColumns8(t.cols, 0), c1 = LoadColumns8(t.cols, 8);
  const __m256i left_any = _mm256_or_si256(c0.left, c1.left);
  if (_mm256_testz_si256(left_any, left_any)) {
    StoreU8<kRows, false, kAddOffsets>(t, c0, c1, acc);
  } else {
    StoreU8<kRows, true, kAddOffsets>(t, c0, c1, acc);
  }
}

// int32 C: acc + row_offset + col_offset (kAddOffsets, else acc as it is),
// t.n_eff (<= 16) columns of rows [0, kRows).
template <int kRows, bool kAddOffsets = true>
__attribute__((always_inline)) inline void StoreTileS32(const TileArgs& t,
                                                        const Tile16& acc) {
  const __m256i off0 =
      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.cols.col_offset));
  const __m256i off1 = _mm256_loadu_si256(
      reinterpret_cast<const __m256i*>(t.cols.col_offset + 8));
  const __m256i n = _mm256_set1_epi32(static_cast<int32_t>(t.n_eff));
  const __m256i mask0 =
      _mm256_cmpgt_epi32(n, _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  const __m256i mask1 =
      _mm256_cmpgt_epi32(n, _mm256_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15));
  auto* c = static_cast<int32_t*>(t.c);
#pragma GCC unroll 6
  for (int i = 0; i < kRows; ++i) {
    const __m256i r = _mm256_set1_epi32(t.row_offset[i]);
    const __m256i v0 =
        kAddOffsets ? _mm256_add_epi32(_mm256_add_epi32(acc[i][0], r), off0)
                    : acc[i][0];
    const __m256i v1 =
        kAddOffsets ? _mm256_add_epi32(_mm256_add_epi32(acc[i][1], r), off1)
                    : acc[i][1];
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

// Lane masks of the first n (<= 16) of 16 columns, as two 8-lane halves.
struct Mask16 {
  __m256i lo, hi;
};

inline Mask16 ColumnMask(size_t n_eff) {
  const __m256i n = _mm256_set1_epi32(static_cast<int32_t>(n_eff));
  return {
      _mm256_cmpgt_epi32(n, _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)),
      _mm256_cmpgt_epi32(n, _mm256_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15))};
}

// float C: fmaf((float) x, scale[j], bias_f[j]) with x = acc + row_offset +
// col_offset (kAddOffsets, else acc as it is), t.n_eff (<= 16) columns of
// rows [0, kRows). Needs -mfma (every includer has it).
template <int kRows, bool kAddOffsets = true>
__attribute__((always_inline)) inline void StoreTileF32(const TileArgs& t,
                                                        const Tile16& acc) {
  const __m256i off0 =
      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.cols.col_offset));
  const __m256i off1 = _mm256_loadu_si256(
      reinterpret_cast<const __m256i*>(t.cols.col_offset + 8));
  const __m256 scale0 = _mm256_loadu_ps(t.cols.scale);
  const __m256 scale1 = _mm256_loadu_ps(t.cols.scale + 8);
  const __m256 bias0 = _mm256_loadu_ps(t.cols.bias_f);
  const __m256 bias1 = _mm256_loadu_ps(t.cols.bias_f + 8);
  const Mask16 mask = ColumnMask(t.n_eff);
  auto* c = static_cast<float*>(t.c);
#pragma GCC unroll 6
  for (int i = 0; i < kRows; ++i) {
    const __m256i r = _mm256_set1_epi32(t.row_offset[i]);
    const __m256i x0 =
        kAddOffsets ? _mm256_add_epi32(_mm256_add_epi32(acc[i][0], r), off0)
                    : acc[i][0];
    const __m256i x1 =
        kAddOffsets ? _mm256_add_epi32(_mm256_add_epi32(acc[i][1], r), off1)
                    : acc[i][1];
    const __m256 v0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(x0), scale0, bias0);
    const __m256 v1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(x1), scale1, bias1);
    float* row = c + i * t.ldc;
    if (t.n_eff >= 16) {
      _mm256_storeu_ps(row, v0);
      _mm256_storeu_ps(row + 8, v1);
    } else {
      _mm256_maskstore_ps(row, mask.lo, v0);
      _mm256_maskstore_ps(row + 8, mask.hi, v1);
    }
  }
}

}  // namespace
}  // namespace avx2
}  // namespace qgemm

#endif  // QGEMM_KERNELS_AVX2_OUTPUT_STAGE_H_

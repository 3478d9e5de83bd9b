// NEON requantization, bit-exact with docs/design.md (gemmlowp's fixed-point
// output stage), four columns per vector, per-lane (per-channel) parameters:
//
//   x = sum + row_offset[i] + col_offset[j]   VADD wraps mod 2^32, as defined
//   x = x * 2^left_shift, saturating          VQSHL by a per-lane count 0..30
//                                             saturates exactly like the
//                                             int64 multiply + clamp
//   x = SRDHM(x, M0)                          VQRDMULH *is* SRDHM: round
//                                             (2*x*M0 / 2^32) ties up; its
//                                             one overflow (MIN * MIN) cannot
//                                             occur, as the API guarantees
//                                             M0 >= 0
//   x = RDBPOT(x, e)                          VRSHL by -e rounds ties toward
//                                             +inf; RDBPOT rounds ties
//                                             away from zero. gemmlowp's
//                                             fix-up: negative x (and e > 0)
//                                             first gets x - 1 (VQADD, so
//                                             INT32_MIN, an exact multiple of
//                                             2^e, stays put). A negative tie
//                                             then rounds down, i.e. away
//                                             from zero; non-ties do not move
//                                             because x - 1 crosses no
//                                             rounding boundary but a tie.
//                                             The fix-up mask is x & -e: its
//                                             sign bit is x's sign when e > 0
//                                             and 0 when e == 0.
//   y = clamp(x, cmin - zc, cmax - zc) + zc   clamping first keeps the add
//                                             exact; y is in [0, 255], so
//                                             the narrowing is exact too.
#include "kernels/neon/output_stage.h"

//
// Float output, fmaf((float) x, scale[j], bias_f[j]):
//   aarch64: SCVTF (vcvtq_f32_s32) rounds to nearest even under the default
//   FPCR, FMLA (vfmaq_f32) rounds once, and AArch64 Advanced SIMD keeps
//   subnormals (FPCR.FZ is 0), so both are fmaf's rounding exactly.
//   armv7: NEON has no fused multiply-add before VFPv4 (this build targets
//   plain -mfpu=neon), and armv7 Advanced SIMD always flushes subnormal
//   results to zero whatever FPSCR says, so even VFPv4's VFMA.F32 on vectors
//   could differ from fmaf when a result is subnormal. Each element goes
//   through the VFP conversion and std::fmaf (libm's, exact) instead.
#include <arm_neon.h>

#include <cmath>
#include <cstring>

namespace qgemm {
namespace neon {
namespace {

// The offset sums of four columns of one row.
int32x4_t OffsetSums(const int32_t* sums, int32x4_t row_offset,
                     const int32_t* col_offset) {
  return vaddq_s32(vaddq_s32(vld1q_s32(sums), row_offset),
                   vld1q_s32(col_offset));
}

}  // namespace

template <size_t NR>
void StoreTileU8(const int32_t* sums, size_t ld_sums, const TileArgs& t) {
  static_assert(NR % 4 == 0 && NR <= 16, "whole vectors, one row in 16 bytes");
  constexpr size_t kVecs = NR / 4;
  const TileColumns& cols = t.cols;
  int32x4_t multiplier[kVecs], left_shift[kVecs], neg_right_shift[kVecs];
  for (size_t v = 0; v < kVecs; ++v) {
    multiplier[v] = vld1q_s32(cols.multiplier + 4 * v);
    left_shift[v] = vld1q_s32(cols.left_shift + 4 * v);
    neg_right_shift[v] = vnegq_s32(vld1q_s32(cols.right_shift + 4 * v));
  }
  const int32_t zc = t.clamp->c_zero_point;
  const int32x4_t lo = vdupq_n_s32(t.clamp->c_min - zc);
  const int32x4_t hi = vdupq_n_s32(t.clamp->c_max - zc);
  const int32x4_t zero_point = vdupq_n_s32(zc);
  auto* c = static_cast<uint8_t*>(t.c);
  for (size_t i = 0; i < t.m_eff; ++i) {
    const int32x4_t row_offset = vdupq_n_s32(t.row_offset[i]);
    uint16x4_t narrowed[kVecs];
    for (size_t v = 0; v < kVecs; ++v) {
      int32x4_t x = OffsetSums(sums + i * ld_sums + 4 * v, row_offset,
                               cols.col_offset + 4 * v);
      x = vqshlq_s32(x, left_shift[v]);
      x = vqrdmulhq_s32(x, multiplier[v]);
      const int32x4_t fixup = vshrq_n_s32(vandq_s32(x, neg_right_shift[v]), 31);
      x = vrshlq_s32(vqaddq_s32(x, fixup), neg_right_shift[v]);
      x = vaddq_s32(vminq_s32(vmaxq_s32(x, lo), hi), zero_point);
      narrowed[v] = vmovn_u32(vreinterpretq_u32_s32(x));  // exact: 0..255
    }
    uint8_t row[NR + 4];
    for (size_t v = 0; v + 1 < kVecs; v += 2) {
      vst1_u8(row + 4 * v,
              vmovn_u16(vcombine_u16(narrowed[v], narrowed[v + 1])));
    }
    if (kVecs % 2 == 1) {
      const uint8x8_t last =
          vmovn_u16(vcombine_u16(narrowed[kVecs - 1], narrowed[kVecs - 1]));
      vst1_u8(row + 4 * (kVecs - 1), last);  // 4 live bytes, 4 spare
    }
    uint8_t* c_row = c + i * t.ldc;
    if (t.n_eff == NR) {
      std::memcpy(c_row, row, NR);
    } else {
      std::memcpy(c_row, row, t.n_eff);
    }
  }
}

template <size_t NR>
void StoreTileS32(const int32_t* sums, size_t ld_sums, const TileArgs& t) {
  static_assert(NR % 4 == 0, "whole vectors");
  auto* c = static_cast<int32_t*>(t.c);
  for (size_t i = 0; i < t.m_eff; ++i) {
    const int32x4_t row_offset = vdupq_n_s32(t.row_offset[i]);
    int32_t* c_row = c + i * t.ldc;
    for (size_t j = 0; j < NR && j < t.n_eff; j += 4) {
      const int32x4_t x =
          OffsetSums(sums + i * ld_sums + j, row_offset, t.cols.col_offset + j);
      if (j + 4 <= t.n_eff) {
        vst1q_s32(c_row + j, x);
      } else {
        int32_t part[4];
        vst1q_s32(part, x);
        std::memcpy(c_row + j, part, (t.n_eff - j) * sizeof(int32_t));
      }
    }
  }
}

template <size_t NR>
void StoreTileF32(const int32_t* sums, size_t ld_sums, const TileArgs& t) {
  static_assert(NR % 4 == 0, "whole vectors");
  auto* c = static_cast<float*>(t.c);
  for (size_t i = 0; i < t.m_eff; ++i) {
    const int32x4_t row_offset = vdupq_n_s32(t.row_offset[i]);
    float* c_row = c + i * t.ldc;
    for (size_t j = 0; j < NR && j < t.n_eff; j += 4) {
      const int32x4_t x =
          OffsetSums(sums + i * ld_sums + j, row_offset, t.cols.col_offset + j);
      float y[4];
#if defined(__aarch64__)
      vst1q_f32(y, vfmaq_f32(vld1q_f32(t.cols.bias_f + j), vcvtq_f32_s32(x),
                             vld1q_f32(t.cols.scale + j)));
#else
      int32_t xs[4];
      vst1q_s32(xs, x);
      for (size_t l = 0; l < 4; ++l) {
        y[l] = std::fmaf(static_cast<float>(xs[l]), t.cols.scale[j + l],
                         t.cols.bias_f[j + l]);
      }
#endif
      const size_t live = t.n_eff - j < 4 ? t.n_eff - j : 4;
      std::memcpy(c_row + j, y, live * sizeof(float));
    }
  }
}

template void StoreTileU8<16>(const int32_t*, size_t, const TileArgs&);
template void StoreTileS32<16>(const int32_t*, size_t, const TileArgs&);
template void StoreTileF32<16>(const int32_t*, size_t, const TileArgs&);

}  // namespace neon
}  // namespace qgemm

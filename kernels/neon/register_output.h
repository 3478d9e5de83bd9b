// The NEON output stage on sums still in registers: a micro-kernel hands it
// one row of its tile at a time as kVecs int32x4 vectors (columns 4v..4v+3
// in vector v), and it adds the row and column offsets of TileArgs and
// writes the row's n_eff columns of C. The arithmetic is that of
// kernels/neon/output_stage.cc (which explains why each step is exact);
// this form saves the store of every sum to the stack and its reload.
//
// Each class here is a template over FileTag, a type from the including
// file's anonymous namespace: every instantiation then has internal linkage
// and is compiled with that file's flags only, so no +dotprod or +i8mm copy
// can stand in for a baseline one (docs/design.md, "Building per-ISA code").
// The including file has <arm_neon.h>.
#ifndef QGEMM_KERNELS_NEON_REGISTER_OUTPUT_H_
#define QGEMM_KERNELS_NEON_REGISTER_OUTPUT_H_

#include <arm_neon.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "dispatch/kernel_table.h"

#if !defined(__aarch64__)
#include <cmath>  // std::fmaf: armv7 only, whose NEON files have no extension
#endif

namespace qgemm {
namespace neon {

// The first n (< 16) bytes of v to dst, in 8-, 4-, 2- and 1-byte pieces.
template <typename FileTag>
struct PartialStore {
  static void Bytes(uint8_t* dst, uint8x16_t v, size_t n) {
    if ((n & 8) != 0) {
      vst1_u8(dst, vget_low_u8(v));
      v = vextq_u8(v, v, 8);
      dst += 8;
    }
    if ((n & 4) != 0) {
      const uint32_t word = vgetq_lane_u32(vreinterpretq_u32_u8(v), 0);
      std::memcpy(dst, &word, 4);
      v = vextq_u8(v, v, 4);
      dst += 4;
    }
    if ((n & 2) != 0) {
      const uint16_t half = vgetq_lane_u16(vreinterpretq_u16_u8(v), 0);
      std::memcpy(dst, &half, 2);
      v = vextq_u8(v, v, 2);
      dst += 2;
    }
    if ((n & 1) != 0) vst1q_lane_u8(dst, v, 0);
  }

  // The first n (< 4) lanes of v to dst.
  static void Words(int32_t* dst, int32x4_t v, size_t n) {
    if ((n & 2) != 0) {
      vst1_s32(dst, vget_low_s32(v));
      v = vextq_s32(v, v, 2);
      dst += 2;
    }
    if ((n & 1) != 0) vst1q_lane_s32(dst, v, 0);
  }
  static void Floats(float* dst, float32x4_t v, size_t n) {
    if ((n & 2) != 0) {
      vst1_f32(dst, vget_low_f32(v));
      v = vextq_f32(v, v, 2);
      dst += 2;
    }
    if ((n & 1) != 0) vst1q_lane_f32(dst, v, 0);
  }
};

// uint8 C: the column parameters stay in registers for the whole tile.
template <size_t kVecs, typename FileTag>
class U8RowOutput {
 public:
  static_assert(kVecs >= 1 && kVecs <= 4, "a row of at most 16 columns");

  explicit U8RowOutput(const TileArgs& t) : t_(t) {
    const TileColumns& cols = t.cols;
    for (size_t v = 0; v < kVecs; ++v) {
      col_offset_[v] = vld1q_s32(cols.col_offset + 4 * v);
      multiplier_[v] = vld1q_s32(cols.multiplier + 4 * v);
      left_shift_[v] = vld1q_s32(cols.left_shift + 4 * v);
      neg_right_shift_[v] = vnegq_s32(vld1q_s32(cols.right_shift + 4 * v));
    }
    const int32_t zc = t.clamp->c_zero_point;
    lo_ = vdupq_n_s32(t.clamp->c_min - zc);
    hi_ = vdupq_n_s32(t.clamp->c_max - zc);
    zero_point_ = vdupq_n_s32(zc);
  }

  // Row i of the tile (i < m_eff) from its raw sums.
  void Row(size_t i, const int32x4_t (&sums)[kVecs]) const {
    const int32x4_t row_offset = vdupq_n_s32(t_.row_offset[i]);
    uint16x4_t narrowed[4];
    for (size_t v = 0; v < kVecs; ++v) {
      int32x4_t x = vaddq_s32(vaddq_s32(sums[v], row_offset), col_offset_[v]);
      x = vqshlq_s32(x, left_shift_[v]);
      x = vqrdmulhq_s32(x, multiplier_[v]);
      const int32x4_t fixup =
          vshrq_n_s32(vandq_s32(x, neg_right_shift_[v]), 31);
      x = vrshlq_s32(vqaddq_s32(x, fixup), neg_right_shift_[v]);
      x = vaddq_s32(vminq_s32(vmaxq_s32(x, lo_), hi_), zero_point_);
      narrowed[v] = vmovn_u32(vreinterpretq_u32_s32(x));  // exact: 0..255
    }
    for (size_t v = kVecs; v < 4; ++v) narrowed[v] = vdup_n_u16(0);
    const uint8x8_t low = vmovn_u16(vcombine_u16(narrowed[0], narrowed[1]));
    uint8_t* c = static_cast<uint8_t*>(t_.c) + i * t_.ldc;
    if constexpr (kVecs <= 2) {
      if (kVecs == 2 && t_.n_eff == 8) {
        vst1_u8(c, low);
      } else {
        PartialStore<FileTag>::Bytes(c, vcombine_u8(low, low), t_.n_eff);
      }
    } else {
      const uint8x16_t row =
          vcombine_u8(low, vmovn_u16(vcombine_u16(narrowed[2], narrowed[3])));
      if (t_.n_eff == 16) {
        vst1q_u8(c, row);
      } else {
        PartialStore<FileTag>::Bytes(c, row, t_.n_eff);
      }
    }
  }

 private:
  const TileArgs& t_;
  int32x4_t col_offset_[kVecs], multiplier_[kVecs], left_shift_[kVecs],
      neg_right_shift_[kVecs];
  int32x4_t lo_, hi_, zero_point_;
};

// int32 C: the offset sums.
template <size_t kVecs, typename FileTag>
class S32RowOutput {
 public:
  explicit S32RowOutput(const TileArgs& t) : t_(t) {
    for (size_t v = 0; v < kVecs; ++v) {
      col_offset_[v] = vld1q_s32(t.cols.col_offset + 4 * v);
    }
  }

  void Row(size_t i, const int32x4_t (&sums)[kVecs]) const {
    const int32x4_t row_offset = vdupq_n_s32(t_.row_offset[i]);
    int32_t* c = static_cast<int32_t*>(t_.c) + i * t_.ldc;
    for (size_t v = 0; v < kVecs; ++v) {
      const int32x4_t x =
          vaddq_s32(vaddq_s32(sums[v], row_offset), col_offset_[v]);
      if (4 * v + 4 <= t_.n_eff) {
        vst1q_s32(c + 4 * v, x);
      } else {
        if (4 * v < t_.n_eff) {
          PartialStore<FileTag>::Words(c + 4 * v, x, t_.n_eff - 4 * v);
        }
        return;
      }
    }
  }

 private:
  const TileArgs& t_;
  int32x4_t col_offset_[kVecs];
};

// float C: fmaf((float) x, scale[j], bias_f[j]) on the offset sums x, with
// output_stage.cc's rounding argument (aarch64: SCVTF + FMLA; armv7: the VFP
// conversion and std::fmaf per element).
template <size_t kVecs, typename FileTag>
class F32RowOutput {
 public:
  explicit F32RowOutput(const TileArgs& t) : t_(t) {
    for (size_t v = 0; v < kVecs; ++v) {
      col_offset_[v] = vld1q_s32(t.cols.col_offset + 4 * v);
    }
  }

  void Row(size_t i, const int32x4_t (&sums)[kVecs]) const {
    const int32x4_t row_offset = vdupq_n_s32(t_.row_offset[i]);
    float* c = static_cast<float*>(t_.c) + i * t_.ldc;
    for (size_t v = 0; v < kVecs && 4 * v < t_.n_eff; ++v) {
      const int32x4_t x =
          vaddq_s32(vaddq_s32(sums[v], row_offset), col_offset_[v]);
      const size_t j = 4 * v;
#if defined(__aarch64__)
      const float32x4_t y =
          vfmaq_f32(vld1q_f32(t_.cols.bias_f + j), vcvtq_f32_s32(x),
                    vld1q_f32(t_.cols.scale + j));
#else
      int32_t xs[4];
      float ys[4];
      vst1q_s32(xs, x);
      for (size_t l = 0; l < 4; ++l) {
        ys[l] = std::fmaf(static_cast<float>(xs[l]), t_.cols.scale[j + l],
                          t_.cols.bias_f[j + l]);
      }
      const float32x4_t y = vld1q_f32(ys);
#endif
      if (j + 4 <= t_.n_eff) {
        vst1q_f32(c + j, y);
      } else {
        PartialStore<FileTag>::Floats(c + j, y, t_.n_eff - j);
      }
    }
  }

 private:
  const TileArgs& t_;
  int32x4_t col_offset_[kVecs];
};

}  // namespace neon
}  // namespace qgemm

#endif  // QGEMM_KERNELS_NEON_REGISTER_OUTPUT_H_

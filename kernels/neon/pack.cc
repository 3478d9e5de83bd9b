// NEON packing into the depth-grouped layout drawn in pack.h.
//
// A row line is copied in 16-byte chunks (a whole group for G = 16, four
// groups for G = 4) while its sum is reduced with UADDLP/UADALP: the 16 bytes
// become 8 u16 pair sums (<= 510) that are added pairwise into 4 u32 lanes,
// so no lane can overflow before it wraps modulo 2^32 as the sum may.
#include "kernels/neon/pack.h"

#include <arm_neon.h>

#include <cstring>

namespace qgemm {
namespace neon {
namespace {

// [a0 b0 a1 b1 ... a7 b7]
uint8x16_t Zip8(uint8x8_t a, uint8x8_t b) {
  const uint8x8x2_t z = vzip_u8(a, b);
  return vcombine_u8(z.val[0], z.val[1]);
}

uint32_t HorizontalSum(uint32x4_t v) {
#if defined(__aarch64__)
  return vaddvq_u32(v);
#else
  const uint32x2_t half = vadd_u32(vget_low_u32(v), vget_high_u32(v));
  return vget_lane_u32(vpadd_u32(half, half), 0);
#endif
}

}  // namespace

template <size_t G>
void PackRowLines(size_t lines, size_t k, size_t lines_eff, const uint8_t* src,
                  size_t ld, uint8_t* panel, int32_t* sums) {
  static_assert(16 % G == 0, "16-byte chunks hold whole groups");
  const size_t k_padded = (k + G - 1) / G * G;
  const size_t group_stride = lines * G;  // bytes from one group to the next
  std::memset(panel, 0, lines * k_padded);
  for (size_t r = 0; r < lines; ++r) {
    if (r >= lines_eff) {
      sums[r] = 0;
      continue;
    }
    const uint8_t* line = src + r * ld;
    uint8_t* dst = panel + r * G;
    uint32x4_t acc = vdupq_n_u32(0);
    size_t p = 0;
    for (; p + 16 <= k; p += 16) {
      const uint8x16_t v = vld1q_u8(line + p);
      acc = vpadalq_u16(acc, vpaddlq_u8(v));
      for (size_t q = 0; q < 16; q += G) {
        std::memcpy(dst + (p + q) / G * group_stride, line + p + q, G);
      }
    }
    uint32_t sum = HorizontalSum(acc);
    for (; p < k; ++p) {
      dst[p / G * group_stride + p % G] = line[p];
      sum += line[p];
    }
    sums[r] = static_cast<int32_t>(sum);
  }
}

template <size_t G>
void PackColumnLines(size_t lines, size_t k, size_t lines_eff,
                     const uint8_t* src, size_t ld, uint8_t* panel,
                     int32_t* sums) {
  const size_t k_padded = (k + G - 1) / G * G;
  std::memset(panel, 0, lines * k_padded);
  uint32_t col_sums[kMaxColumnLines] = {};
  for (size_t p = 0; p < k; ++p) {
    const uint8_t* row = src + p * ld;
    uint8_t* dst = panel + p / G * lines * G + p % G;
    for (size_t c = 0; c < lines_eff; ++c) {
      dst[c * G] = row[c];
      col_sums[c] += row[c];
    }
  }
  for (size_t c = 0; c < lines; ++c) {
    sums[c] = c < lines_eff ? static_cast<int32_t>(col_sums[c]) : 0;
  }
}

// G = 4 (the udot layout) transposes 4 rows x 16 columns at a time: two
// rounds of ZIP turn rows r0..r3 into columns of 4 depth bytes,
//   zip8(r0, r1)  = [r0c0 r1c0 r0c1 r1c1 ...]
//   zip16(.., ..) = [r0c0 r1c0 r2c0 r3c0][r0c1 r1c1 r2c1 r3c1] ...
// which is the panel's group layout; each 32-bit lane is one column's 4
// bytes, so UADDLP twice adds them into that column's u32 sum. Rows are
// copied into a zeroed 16-byte line first, so nothing past column lines_eff
// or row k is read.
template <>
void PackColumnLines<4>(size_t lines, size_t k, size_t lines_eff,
                        const uint8_t* src, size_t ld, uint8_t* panel,
                        int32_t* sums) {
  constexpr size_t kG = 4;
  const size_t k_padded = (k + kG - 1) / kG * kG;
  const size_t vectors = (lines + 3) / 4;  // 4 columns per output vector
  uint32x4_t col_sums[4] = {vdupq_n_u32(0), vdupq_n_u32(0), vdupq_n_u32(0),
                            vdupq_n_u32(0)};
  uint8_t rows[kG][16];
  std::memset(rows, 0, sizeof rows);
  for (size_t p = 0; p < k_padded; p += kG) {
    for (size_t r = 0; r < kG; ++r) {
      if (p + r < k) {
        std::memcpy(rows[r], src + (p + r) * ld, lines_eff);
      } else {
        std::memset(rows[r], 0, sizeof rows[r]);
      }
    }
    const uint8x16x2_t z01 = vzipq_u8(vld1q_u8(rows[0]), vld1q_u8(rows[1]));
    const uint8x16x2_t z23 = vzipq_u8(vld1q_u8(rows[2]), vld1q_u8(rows[3]));
    const uint16x8x2_t lo = vzipq_u16(vreinterpretq_u16_u8(z01.val[0]),
                                      vreinterpretq_u16_u8(z23.val[0]));
    const uint16x8x2_t hi = vzipq_u16(vreinterpretq_u16_u8(z01.val[1]),
                                      vreinterpretq_u16_u8(z23.val[1]));
    const uint8x16_t groups[4] = {
        vreinterpretq_u8_u16(lo.val[0]), vreinterpretq_u8_u16(lo.val[1]),
        vreinterpretq_u8_u16(hi.val[0]), vreinterpretq_u8_u16(hi.val[1])};
    uint8_t* dst =
        panel + p * lines;  // group p / 4 starts at p / 4 * lines * 4
    for (size_t v = 0; v < vectors; ++v) {
      col_sums[v] = vpadalq_u16(col_sums[v], vpaddlq_u8(groups[v]));
      if (4 * (v + 1) <= lines) {
        vst1q_u8(dst + 16 * v, groups[v]);
      } else {
        uint8_t part[16];
        vst1q_u8(part, groups[v]);
        std::memcpy(dst + 16 * v, part, 4 * (lines - 4 * v));
      }
    }
  }
  uint32_t all[16];
  for (size_t v = 0; v < 4; ++v) vst1q_u32(all + 4 * v, col_sums[v]);
  for (size_t c = 0; c < lines; ++c) {
    sums[c] = c < lines_eff ? static_cast<int32_t>(all[c]) : 0;
  }
}

// G = 8 (the UMMLA layout, and armv7's) for panels of at most 8 lines
// transposes 8 rows x 8 columns at a time: three rounds of ZIP,
//   zip8(r0, r1)   = [r0c0 r1c0 r0c1 r1c1 ...]
//   zip16(.., ..)  = [r0c0 r1c0 r2c0 r3c0] [r0c1 ...] ...
//   zip32(.., ..)  = [r0c0 .. r3c0 | r4c0 .. r7c0] [r0c1 .. r7c1]
// leave column c's 8 depth bytes in one 64-bit lane, two columns per
// vector: the panel's group layout. UADDLP + UADALP add each column's bytes
// into two u32 lanes, summed at the end. A whole group of a full panel is
// read with 8-byte loads straight from B; a partial one (rows past k,
// columns past lines_eff) is copied into zeroed rows first, so nothing
// outside B is read. Wider panels take the byte loop.
template <>
void PackColumnLines<8>(size_t lines, size_t k, size_t lines_eff,
                        const uint8_t* src, size_t ld, uint8_t* panel,
                        int32_t* sums) {
  constexpr size_t kG = 8;
  const size_t k_padded = (k + kG - 1) / kG * kG;
  if (lines > kG) {
    std::memset(panel, 0, lines * k_padded);
    uint32_t col_sums[kMaxColumnLines] = {};
    for (size_t p = 0; p < k; ++p) {
      const uint8_t* row = src + p * ld;
      uint8_t* dst = panel + p / kG * lines * kG + p % kG;
      for (size_t c = 0; c < lines_eff; ++c) {
        dst[c * kG] = row[c];
        col_sums[c] += row[c];
      }
    }
    for (size_t c = 0; c < lines; ++c) {
      sums[c] = c < lines_eff ? static_cast<int32_t>(col_sums[c]) : 0;
    }
    return;
  }
  const size_t vectors = (lines + 1) / 2;  // two columns per vector
  uint32x4_t col_sums[4] = {vdupq_n_u32(0), vdupq_n_u32(0), vdupq_n_u32(0),
                            vdupq_n_u32(0)};
  uint8_t rows[kG][kG];
  std::memset(rows, 0, sizeof rows);
  for (size_t p = 0; p < k_padded; p += kG) {
    uint8x8_t r[kG];
    if (lines_eff == kG && p + kG <= k) {
      for (size_t i = 0; i < kG; ++i) r[i] = vld1_u8(src + (p + i) * ld);
    } else {
      for (size_t i = 0; i < kG; ++i) {
        if (p + i < k) {
          std::memcpy(rows[i], src + (p + i) * ld, lines_eff);
        } else {
          std::memset(rows[i], 0, sizeof rows[i]);
        }
        r[i] = vld1_u8(rows[i]);
      }
    }
    const uint8x16_t z01 = Zip8(r[0], r[1]);
    const uint8x16_t z23 = Zip8(r[2], r[3]);
    const uint8x16_t z45 = Zip8(r[4], r[5]);
    const uint8x16_t z67 = Zip8(r[6], r[7]);
    const uint16x8x2_t lo =
        vzipq_u16(vreinterpretq_u16_u8(z01), vreinterpretq_u16_u8(z23));
    const uint16x8x2_t hi =
        vzipq_u16(vreinterpretq_u16_u8(z45), vreinterpretq_u16_u8(z67));
    const uint32x4x2_t c0123 = vzipq_u32(vreinterpretq_u32_u16(lo.val[0]),
                                         vreinterpretq_u32_u16(hi.val[0]));
    const uint32x4x2_t c4567 = vzipq_u32(vreinterpretq_u32_u16(lo.val[1]),
                                         vreinterpretq_u32_u16(hi.val[1]));
    const uint8x16_t groups[4] = {
        vreinterpretq_u8_u32(c0123.val[0]), vreinterpretq_u8_u32(c0123.val[1]),
        vreinterpretq_u8_u32(c4567.val[0]), vreinterpretq_u8_u32(c4567.val[1])};
    uint8_t* dst = panel + p * lines;  // group p / 8 at p / 8 * lines * 8
    for (size_t v = 0; v < vectors; ++v) {
      col_sums[v] = vpadalq_u16(col_sums[v], vpaddlq_u8(groups[v]));
      if (2 * (v + 1) <= lines) {
        vst1q_u8(dst + 16 * v, groups[v]);
      } else {
        vst1_u8(dst + 16 * v, vget_low_u8(groups[v]));  // one column left
      }
    }
  }
  // Lanes 0, 1 of a vector: its first column's two halves; 2, 3: its second.
  uint32_t all[16];
  for (size_t v = 0; v < 4; ++v) vst1q_u32(all + 4 * v, col_sums[v]);
  for (size_t c = 0; c < lines; ++c) {
    sums[c] =
        c < lines_eff ? static_cast<int32_t>(all[2 * c] + all[2 * c + 1]) : 0;
  }
}

template void PackRowLines<4>(size_t, size_t, size_t, const uint8_t*, size_t,
                              uint8_t*, int32_t*);
template void PackRowLines<8>(size_t, size_t, size_t, const uint8_t*, size_t,
                              uint8_t*, int32_t*);
template void PackRowLines<16>(size_t, size_t, size_t, const uint8_t*, size_t,
                               uint8_t*, int32_t*);
template void PackColumnLines<16>(size_t, size_t, size_t, const uint8_t*,
                                  size_t, uint8_t*, int32_t*);

}  // namespace neon
}  // namespace qgemm

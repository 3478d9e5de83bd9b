// NEON dot-rows kernel for few rows of A against an unpacked k x n B
// (aarch64, and armv7 with -mfpu=neon): the DotRowsFn of kernel_table.h
// (also neondot's). First the sums
//   sums[i][j] = sum_k (a[i][k] - za) * b[k][j]   (mod 2^32), i < m <= 4,
// into the scratch, then the NEON output stage (output_stage.h) on them,
// 16 columns at a time, into C.
// The driver uses it where packing B would cost more than the product
// (GEMV): B is read in place, four depth rows at a time along their width.
//
// Step (depth rows k..k+3; 16 columns j..j+15; row i of A):
//   bh = vmovl_u8 of b[k+r][j..j+15] halves      8 uint16 lanes each, as
//                                                 int16 (values <= 255)
//   acc[q] += bh[q half] * (a[i][k+r] - za)      VMLAL.S16 by scalar, 4 x
//                                                 int32x4 = 16 columns
// |a - za| <= 255 fits int16 and every product is at most 65025 in
// magnitude, exact in int32; the adds wrap like the accumulator
// (docs/design.md, "Accumulation"). The za fold leaves only zb * sum_k (a - za)
// (the driver's row_offset) and the bias (col_offset), no column sums of B. A
// depth tail of fewer than 4 rows takes them one by one; the last n % 16
// columns go through a zero-padded copy, so no byte outside B is read.
#include <arm_neon.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/neon/output_stage.h"
#include "kernels/neon/pack.h"

namespace qgemm {
namespace neon {
namespace {

// The 16 int16 lanes of one row's 16 bytes: lo = columns 0-7, hi = 8-15.
struct Row16 {
  int16x8_t lo, hi;
};

inline Row16 Widen(uint8x16_t x) {
  return {vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(x))),
          vreinterpretq_s16_u16(vmovl_u8(vget_high_u8(x)))};
}

// acc (16 columns of one A row) += sum over the kRowsB depth rows of
// row[r] * coef[r].
template <size_t kRowsB>
inline void MultiplyAdd(const Row16 (&rows)[4], const int16_t* coef,
                        int32_t* acc) {
  int32x4_t c0 = vld1q_s32(acc), c1 = vld1q_s32(acc + 4);
  int32x4_t c2 = vld1q_s32(acc + 8), c3 = vld1q_s32(acc + 12);
  for (size_t r = 0; r < kRowsB; ++r) {
    c0 = vmlal_n_s16(c0, vget_low_s16(rows[r].lo), coef[r]);
    c1 = vmlal_n_s16(c1, vget_high_s16(rows[r].lo), coef[r]);
    c2 = vmlal_n_s16(c2, vget_low_s16(rows[r].hi), coef[r]);
    c3 = vmlal_n_s16(c3, vget_high_s16(rows[r].hi), coef[r]);
  }
  vst1q_s32(acc, c0);
  vst1q_s32(acc + 4, c1);
  vst1q_s32(acc + 8, c2);
  vst1q_s32(acc + 12, c3);
}

// kRowsB (1 or 4) depth rows starting at b, all n columns, into m rows of
// sums; coef[i][r] = a[i][k + r] - za.
template <size_t kRowsB>
void AccumulateRows(size_t m, size_t n, const uint8_t* b, size_t ldb,
                    const int16_t (&coef)[4][4], int32_t* out, size_t ldo) {
  const size_t n_full = n / 16 * 16, tail = n - n_full;
  Row16 rows[4];
  size_t j = 0;
  for (; j < n_full; j += 16) {
    for (size_t r = 0; r < kRowsB; ++r)
      rows[r] = Widen(vld1q_u8(b + r * ldb + j));
    for (size_t i = 0; i < m; ++i) {
      MultiplyAdd<kRowsB>(rows, coef[i], out + i * ldo + j);
    }
  }
  if (tail) {
    for (size_t r = 0; r < kRowsB; ++r) {
      uint8_t t[16] = {};
      std::memcpy(t, b + r * ldb + j, tail);
      rows[r] = Widen(vld1q_u8(t));
    }
    for (size_t i = 0; i < m; ++i) {
      MultiplyAdd<kRowsB>(rows, coef[i], out + i * ldo + j);
    }
  }
}

}  // namespace

void DotRowsKN(const DotRowsArgs* args) {
  const DotRowsArgs& d = *args;
  const size_t m = d.m, k = d.k, n = d.n;
  const size_t ldo = (n + kDotRowsNR - 1) / kDotRowsNR * kDotRowsNR;
  int32_t* sums = d.scratch;
  for (size_t i = 0; i < m; ++i) {
    std::memset(sums + i * ldo, 0, ldo * sizeof(int32_t));
  }
  int16_t coef[4][4] = {};
  size_t kk = 0;
  for (; kk + 4 <= k; kk += 4) {
    for (size_t i = 0; i < m; ++i) {
      for (size_t r = 0; r < 4; ++r) {
        coef[i][r] = static_cast<int16_t>(d.a[i * d.lda + kk + r] - d.za);
      }
    }
    AccumulateRows<4>(m, n, d.b + kk * d.ldb, d.ldb, coef, sums, ldo);
  }
  for (; kk < k; ++kk) {
    for (size_t i = 0; i < m; ++i) {
      coef[i][0] = static_cast<int16_t>(d.a[i * d.lda + kk] - d.za);
    }
    AccumulateRows<1>(m, n, d.b + kk * d.ldb, d.ldb, coef, sums, ldo);
  }

  TileArgs t{};
  t.row_offset = d.row_offset;
  t.clamp = d.clamp;
  t.ldc = d.ldc;
  t.m_eff = m;
  const size_t elem = d.output == OutputKind::kUint8 ? 1 : 4;
  for (size_t j = 0; j < n; j += kDotRowsNR) {
    t.cols = {d.cols.col_offset + j, d.cols.multiplier + j,
              d.cols.left_shift + j, d.cols.right_shift + j,
              d.cols.scale + j,      d.cols.bias_f + j};
    t.c = static_cast<uint8_t*>(d.c) + j * elem;
    t.n_eff = n - j < kDotRowsNR ? n - j : kDotRowsNR;
    switch (d.output) {
      case OutputKind::kUint8:
        StoreTileU8<kDotRowsNR>(sums + j, ldo, t);
        break;
      case OutputKind::kInt32:
        StoreTileS32<kDotRowsNR>(sums + j, ldo, t);
        break;
      case OutputKind::kFloat:
        StoreTileF32<kDotRowsNR>(sums + j, ldo, t);
        break;
    }
  }
}

}  // namespace neon
}  // namespace qgemm

// NEON micro-kernel without the dot product: UMULL + UADALP.
//
//   aarch64: tile 4 x 4, depth groups of KR = 16 (one q register per line)
//   armv7:   tile 2 x 4, depth groups of KR = 8  (one d register per line;
//            AArch32 has 16 q registers, not 32)
//
// Packed panels (pack.h, G = KR): per depth group, MR rows of A and NR = 4
// columns of B, KR consecutive depth bytes each (aarch64 shown):
//
//   A:  [a0 p0..15][a1 p0..15][a2 p0..15][a3 p0..15]   va[0..3]
//   B:  [b0 p0..15][b1 p0..15][b2 p0..15][b3 p0..15]   vb[0..3]
//
// Register tile: one u32x4 accumulator per (row, column) pair; its 4 lanes
// hold partial sums over different depth pairs of the same output element:
//
//              b0         b1         b2         b3
//   a0     acc[0][0]  acc[0][1]  acc[0][2]  acc[0][3]    aarch64: 16 of the
//   a1     acc[1][0]     ...                             32 registers hold
//   a2        ...                                        accumulators, 8 the
//   a3     acc[3][0]     ...                acc[3][3]    operands, 4 products
//                                                        armv7: rows a0, a1:
//                                                        8 of 16 q registers
//
//   UMULL  lo.8h = a[i].8b(p0..7)   * b[j].8b(p0..7)    8 u8 x u8 products
//   UMULL2 hi.8h = a[i].16b(p8..15) * b[j].16b(p8..15)
//   UADALP acc.4s += pairwise(lo), then += pairwise(hi)
//   (armv7: one VMULL.U8 d x d + one VPADAL.U16 per pair and group of 8)
//
// Exactness: a product is at most 255 * 255 = 65025 < 2^16, so the u16
// lanes of UMULL are exact (adding two of them would not be: UMLAL into u16
// could overflow, which is why the pairs go straight into u32 lanes).
// UADALP widens before adding, and the u32 lanes wrap modulo 2^32, the ring
// in which docs/design.md defines the int32 sum. After the depth loop the four
// lanes of each accumulator are summed (ADDP) into one row vector
// [s(i,0) s(i,1) s(i,2) s(i,3)] and the shared NEON output stage
// (register_output.h) adds the offsets and requantizes it in registers.
// aarch64 compiles the tile per m_eff (1 to 4 rows).
#include <arm_neon.h>

#include <cstddef>
#include <cstdint>

#include "dispatch/kernel_table.h"
#include "kernels/neon/line_kernel.h"

namespace qgemm {
namespace {

#if defined(__aarch64__)
constexpr size_t kMR = 4;   // 16 accumulators of 32 vector registers
constexpr size_t kKR = 16;  // one q register per line and group
#else
constexpr size_t kMR = 2;  // 8 accumulators of 16 q registers
constexpr size_t kKR = 8;  // one d register per line and group
#endif
constexpr size_t kNR = 4;

#if defined(__aarch64__)

// Rows [0, kRows) of the tile: the depth loop, then each row reduced to
// [s(i,0) s(i,1) s(i,2) s(i,3)] and handed to the output stage in registers.
template <size_t kRows, class Output>
void RowsTile(const TileArgs& t) {
  constexpr size_t kPairs = kRows * kNR;
  uint32x4_t acc[kMR][kNR];
  for (size_t i = 0; i < kRows; ++i) {
    for (size_t j = 0; j < kNR; ++j) acc[i][j] = vdupq_n_u32(0);
  }
  const auto* a = static_cast<const uint8_t*>(t.a_panel);
  const auto* b = static_cast<const uint8_t*>(t.b_panel);
  for (size_t n = t.k_padded / kKR; n != 0; --n) {
    uint8x16_t va[kMR], vb[kNR];
    for (size_t i = 0; i < kRows; ++i) va[i] = vld1q_u8(a + i * kKR);
    for (size_t j = 0; j < kNR; ++j) vb[j] = vld1q_u8(b + j * kKR);
    // The products of pair q are formed while those of pair q - 1 are
    // added, so an in-order core need not wait on UMULL's latency.
    // (sources.cmake turns off GCC's pre-allocation scheduler, which would
    // hoist all 32 products first and spill accumulators.)
    uint16x8_t lo[2], hi[2];
    for (size_t q = 0; q <= kPairs; ++q) {
      if (q < kPairs) {
        const size_t i = q / kNR, j = q % kNR;
        lo[q % 2] = vmull_u8(vget_low_u8(va[i]), vget_low_u8(vb[j]));
        hi[q % 2] = vmull_high_u8(va[i], vb[j]);
      }
      if (q > 0) {
        const size_t i = (q - 1) / kNR, j = (q - 1) % kNR;
        acc[i][j] = vpadalq_u16(acc[i][j], lo[(q - 1) % 2]);
        acc[i][j] = vpadalq_u16(acc[i][j], hi[(q - 1) % 2]);
      }
    }
    a += kMR * kKR;
    b += kNR * kKR;
  }
  const Output out(t);
#pragma GCC unroll 4
  for (size_t i = 0; i < kRows; ++i) {
    const int32x4_t row[1] = {vreinterpretq_s32_u32(vpaddq_u32(
        vpaddq_u32(acc[i][0], acc[i][1]), vpaddq_u32(acc[i][2], acc[i][3])))};
    out.Row(i, row);
  }
}

// The register tile for kernels/neon/line_kernel.h, compiled per m_eff.
struct UmullTile {
  template <class Output>
  static void Run(const TileArgs& t) {
    switch (t.m_eff) {
      case 1:
        return RowsTile<1, Output>(t);
      case 2:
        return RowsTile<2, Output>(t);
      case 3:
        return RowsTile<3, Output>(t);
      default:
        return RowsTile<4, Output>(t);
    }
  }
};

#else  // AArch32

// [s0 s1 s2 s3]: the lane sums of four accumulators (no ADDP on q
// registers in AArch32).
uint32x4_t ReduceRow(uint32x4_t c0, uint32x4_t c1, uint32x4_t c2,
                     uint32x4_t c3) {
  const uint32x2_t h0 = vadd_u32(vget_low_u32(c0), vget_high_u32(c0));
  const uint32x2_t h1 = vadd_u32(vget_low_u32(c1), vget_high_u32(c1));
  const uint32x2_t h2 = vadd_u32(vget_low_u32(c2), vget_high_u32(c2));
  const uint32x2_t h3 = vadd_u32(vget_low_u32(c3), vget_high_u32(c3));
  return vcombine_u32(vpadd_u32(h0, h1), vpadd_u32(h2, h3));
}

// Raw tile sums, as above, for depth groups of 8 (kKR = 8 on AArch32): one
// 16-byte load brings both rows' 8 depth bytes (d0, d1), one 32-byte load
// all four columns' (d2-d5). The loop is written in assembly because GCC 12
// (any of -O2/-O3, with or without its schedulers) rotates the 8
// accumulators through extra VMOVs and a spill each iteration; here it is 2
// loads + 8 VMULL + 8 VPADAL + SUBS + BNE, products pipelined through q3/q4.
// (Both rows always: the loop is one; the output stage stores only row 0
// when m_eff is 1.)
void AccumulateTile(const TileArgs& t, uint32x4_t* row0, uint32x4_t* row1) {
  static_assert(kMR == 2 && kNR == 4 && kKR == 8, "the tile is spelled out");
  uint32x4_t c00 = vdupq_n_u32(0), c01 = c00, c02 = c00, c03 = c00;
  uint32x4_t c10 = c00, c11 = c00, c12 = c00, c13 = c00;
  const uint8_t* a = static_cast<const uint8_t*>(t.a_panel);
  const uint8_t* b = static_cast<const uint8_t*>(t.b_panel);
  size_t groups = t.k_padded / kKR;
  if (groups != 0) {
    asm volatile(
        "1:\n"
        "vld1.8 {d0-d1}, [%[a]]!\n"
        "vld1.8 {d2-d5}, [%[b]]!\n"
        "vmull.u8 q3, d0, d2\n"
        "vmull.u8 q4, d0, d3\n"
        "vpadal.u16 %q[c00], q3\n"
        "vmull.u8 q3, d0, d4\n"
        "vpadal.u16 %q[c01], q4\n"
        "vmull.u8 q4, d0, d5\n"
        "vpadal.u16 %q[c02], q3\n"
        "vmull.u8 q3, d1, d2\n"
        "vpadal.u16 %q[c03], q4\n"
        "vmull.u8 q4, d1, d3\n"
        "vpadal.u16 %q[c10], q3\n"
        "vmull.u8 q3, d1, d4\n"
        "vpadal.u16 %q[c11], q4\n"
        "vmull.u8 q4, d1, d5\n"
        "vpadal.u16 %q[c12], q3\n"
        "subs %[groups], %[groups], #1\n"
        "vpadal.u16 %q[c13], q4\n"
        "bne 1b\n"
        : [a] "+r"(a), [b] "+r"(b), [groups] "+r"(groups), [c00] "+w"(c00),
          [c01] "+w"(c01), [c02] "+w"(c02), [c03] "+w"(c03), [c10] "+w"(c10),
          [c11] "+w"(c11), [c12] "+w"(c12), [c13] "+w"(c13)
        :
        : "cc", "memory", "d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8",
          "d9");
  }
  *row0 = ReduceRow(c00, c01, c02, c03);
  *row1 = ReduceRow(c10, c11, c12, c13);
}

// The register tile for kernels/neon/line_kernel.h.
struct UmullTile {
  template <class Output>
  static void Run(const TileArgs& t) {
    uint32x4_t row0, row1;
    AccumulateTile(t, &row0, &row1);
    const Output out(t);
    const int32x4_t r0[1] = {vreinterpretq_s32_u32(row0)};
    out.Row(0, r0);
    if (t.m_eff > 1) {
      const int32x4_t r1[1] = {vreinterpretq_s32_u32(row1)};
      out.Row(1, r1);
    }
  }
};

#endif

using Kernel = neon::LineKernel<kMR, kNR, kKR, UmullTile>;

}  // namespace

namespace neon {
extern const KernelTable kTable;
const KernelTable kTable =
    Kernel::Table("neon", kMR == 4 ? 0x4E10404u : 0x4E10204u);
}  // namespace neon

}  // namespace qgemm

// NEON dot-product micro-kernel: 8 x 12 tile, UDOT over depth groups of 4.
//
// Packed panels (kernels/neon/pack.h, G = KR = 4): per 4 depth steps,
//
//   A (8 rows):     [a0 p0..3][a1 p0..3] ... [a7 p0..3]      = 2 q registers
//                    \______ va0 ______/ \______ va1 ______/
//   B (12 columns): [b0 p0..3] ... [b11 p0..3]               = 3 q registers
//                    vb0 = cols 0-3, vb1 = 4-7, vb2 = 8-11
//
// Register tile: 24 u32x4 accumulators of the 32 vector registers (+ 2 A
// + 3 B = 29 live), each holding 4 adjacent columns of one row:
//
//              cols 0-3    cols 4-7    cols 8-11
//   row 0    acc[0][0]   acc[0][1]   acc[0][2]
//   row 1    acc[1][0]   acc[1][1]   acc[1][2]
//    ...        ...         ...         ...
//   row 7    acc[7][0]   acc[7][1]   acc[7][2]
//
// Row i is DotRow<kLane> with kLane = i % 4 and va = va0 (rows 0-3) or va1
// (rows 4-7); for each column block c = 0, 1, 2:
//   acc[i][c] = vdotq_laneq_u32(acc[i][c], vb<c>, va, kLane)
// Row i's 4 depth bytes are the 32-bit lane kLane of va; each u32 lane of
// acc[i][c] adds their dot product with its column's 4 depth bytes.
//
// One UDOT = 4 lanes x 4 u8 x u8 products = 16 MACs; per depth group of 4:
// 24 UDOT for 384 MACs, 5 q loads (LDP of A, one LD1 of B's three).
//
// Per m_eff: the tile is compiled for 1 to 4 rows, each running exactly
// m_eff rows (a one-row call on packed weights does 3 UDOTs per depth
// group, not 24), and for 8 rows, which tiles of 5 to 8 rows run. Each row's
// three accumulators go to the output stage in registers
// (kernels/neon/register_output.h).
//
// Exactness: a lane gains at most 4 * 255 * 255 = 260100 per UDOT, added in
// u32 with wrap-around modulo 2^32, the ring in which docs/design.md defines
// the int32 sum; nothing saturates. The offsets and the requantization are
// the shared NEON output stage's arithmetic (kernels/neon/output_stage.cc).
#include <arm_neon.h>

#include <cstddef>
#include <cstdint>

#include "dispatch/kernel_table.h"
#include "kernels/neon/line_kernel.h"

namespace qgemm {
namespace {

constexpr size_t kMR = 8;
constexpr size_t kNR = 12;
constexpr size_t kKR = 4;

// One row of the tile: its 4 depth bytes are the 32-bit lane kLane of va.
template <int kLane>
inline void DotRow(uint32x4_t* acc_row, uint8x16_t va, uint8x16_t vb0,
                   uint8x16_t vb1, uint8x16_t vb2) {
  acc_row[0] = vdotq_laneq_u32(acc_row[0], vb0, va, kLane);
  acc_row[1] = vdotq_laneq_u32(acc_row[1], vb1, va, kLane);
  acc_row[2] = vdotq_laneq_u32(acc_row[2], vb2, va, kLane);
}

// One depth group of 4 for the first kRows rows: 3 kRows UDOTs (rows 4-7's
// A bytes are loaded only when there are such rows).
template <size_t kRows>
inline void DotGroup(uint32x4_t (&acc)[kMR][3], const uint8_t* a,
                     const uint8_t* b) {
  const uint8x16_t va0 = vld1q_u8(a);
  const uint8x16x3_t vb = vld1q_u8_x3(b);  // one LD1 of three registers
  const uint8x16_t vb0 = vb.val[0], vb1 = vb.val[1], vb2 = vb.val[2];
  DotRow<0>(acc[0], va0, vb0, vb1, vb2);
  if constexpr (kRows > 1) DotRow<1>(acc[1], va0, vb0, vb1, vb2);
  if constexpr (kRows > 2) DotRow<2>(acc[2], va0, vb0, vb1, vb2);
  if constexpr (kRows > 3) DotRow<3>(acc[3], va0, vb0, vb1, vb2);
  if constexpr (kRows > 4) {
    const uint8x16_t va1 = vld1q_u8(a + 16);
    DotRow<0>(acc[4], va1, vb0, vb1, vb2);
    if constexpr (kRows > 5) DotRow<1>(acc[5], va1, vb0, vb1, vb2);
    if constexpr (kRows > 6) DotRow<2>(acc[6], va1, vb0, vb1, vb2);
    if constexpr (kRows > 7) DotRow<3>(acc[7], va1, vb0, vb1, vb2);
  }
}

// Rows [0, kRows) of the tile: the depth loop, then each row from its
// accumulators straight into the output stage.
template <size_t kRows, class Output>
void RowsTile(const TileArgs& t) {
  uint32x4_t acc[kMR][3];
  for (size_t i = 0; i < kRows; ++i) {
    for (size_t c = 0; c < 3; ++c) acc[i][c] = vdupq_n_u32(0);
  }
  const auto* a = static_cast<const uint8_t*>(t.a_panel);
  const auto* b = static_cast<const uint8_t*>(t.b_panel);
  constexpr size_t kAGroup = kMR * kKR, kBGroup = kNR * kKR;
  const size_t groups = t.k_padded / kKR;
  // Two groups per iteration (the full tile has its own loop, FullTile).
  for (size_t n = groups / 2; n != 0; --n) {
    DotGroup<kRows>(acc, a, b);
    DotGroup<kRows>(acc, a + kAGroup, b + kBGroup);
    a += 2 * kAGroup;
    b += 2 * kBGroup;
  }
  if (groups % 2 != 0) DotGroup<kRows>(acc, a, b);
  const Output out(t);
#pragma GCC unroll 8
  for (size_t i = 0; i < kRows; ++i) {
    const int32x4_t row[3] = {vreinterpretq_s32_u32(acc[i][0]),
                              vreinterpretq_s32_u32(acc[i][1]),
                              vreinterpretq_s32_u32(acc[i][2])};
    out.Row(i, row);
  }
}

// The 8-row tile's depth loop in assembly, because GCC 12, with the output
// stage in the same function, rotates accumulators through MOVs and spills
// one inside the loop. r<i> holds row i's three accumulators (columns 0-3,
// 4-7, 8-11) in consecutive registers, one operand (%S, %T, %U name them):
// 24 separate ones would exceed an asm statement's 30 operands. Per
// iteration (two depth groups): 2 x (LDP of A's 8 rows + LD1 of B's 3
// vectors + 24 UDOT) + SUBS + B.NE = 54 instructions for 768 MACs, 14.2 per
// instruction. An odd number of groups enters at the second group. Tiles of
// 5 to 7 rows run it too (padding rows are zero and not stored): the
// intrinsics loops GCC makes for them are slower than all 8 rows here.
#define QGEMM_UDOT_ROW(ROW, A, LANE)            \
  "udot %S[" ROW "].4s, v2.16b, " A ".4b[" LANE \
  "]\n"                                         \
  "udot %T[" ROW "].4s, v3.16b, " A ".4b[" LANE \
  "]\n"                                         \
  "udot %U[" ROW "].4s, v4.16b, " A ".4b[" LANE "]\n"
#define QGEMM_UDOT_GROUP                                                  \
  "ldp q0, q1, [%[a]], #32\n"                                             \
  "ld1 {v2.16b, v3.16b, v4.16b}, [%[b]], #48\n" QGEMM_UDOT_ROW(           \
      "r0", "v0", "0") QGEMM_UDOT_ROW("r1", "v0", "1")                    \
      QGEMM_UDOT_ROW("r2", "v0", "2") QGEMM_UDOT_ROW("r3", "v0", "3")     \
          QGEMM_UDOT_ROW("r4", "v1", "0") QGEMM_UDOT_ROW("r5", "v1", "1") \
              QGEMM_UDOT_ROW("r6", "v1", "2") QGEMM_UDOT_ROW("r7", "v1", "3")
template <class Output>
void EightRowTile(const TileArgs& t) {
  const uint32x4_t zero = vdupq_n_u32(0);
  uint32x4x3_t r0 = {{zero, zero, zero}}, r1 = r0, r2 = r0, r3 = r0, r4 = r0,
               r5 = r0, r6 = r0, r7 = r0;
  const auto* a = static_cast<const uint8_t*>(t.a_panel);
  const auto* b = static_cast<const uint8_t*>(t.b_panel);
  const size_t groups = t.k_padded / kKR;
  if (groups != 0) {
    size_t iterations = (groups + 1) / 2;
    asm volatile(
        "tbnz %[groups], #0, 2f\n"
        "1:\n" QGEMM_UDOT_GROUP "2:\n" QGEMM_UDOT_GROUP
        "subs %[n], %[n], #1\n"
        "b.ne 1b\n"
        : [a] "+r"(a), [b] "+r"(b), [n] "+r"(iterations), [r0] "+w"(r0),
          [r1] "+w"(r1), [r2] "+w"(r2), [r3] "+w"(r3), [r4] "+w"(r4),
          [r5] "+w"(r5), [r6] "+w"(r6), [r7] "+w"(r7)
        : [groups] "r"(groups)
        : "v0", "v1", "v2", "v3", "v4", "memory", "cc");
  }
  const Output out(t);
  const uint32x4x3_t* rows[kMR] = {&r0, &r1, &r2, &r3, &r4, &r5, &r6, &r7};
#pragma GCC unroll 8
  for (size_t i = 0; i < kMR; ++i) {
    if (i >= t.m_eff) break;
    const int32x4_t row[3] = {vreinterpretq_s32_u32(rows[i]->val[0]),
                              vreinterpretq_s32_u32(rows[i]->val[1]),
                              vreinterpretq_s32_u32(rows[i]->val[2])};
    out.Row(i, row);
  }
}
#undef QGEMM_UDOT_ROW
#undef QGEMM_UDOT_GROUP

// The register tile for kernels/neon/line_kernel.h, compiled per m_eff.
struct UdotTile {
  template <class Output>
  static void Run(const TileArgs& t) {
    switch (t.m_eff) {
      case 1:
        return RowsTile<1, Output>(t);
      case 2:
        return RowsTile<2, Output>(t);
      case 3:
        return RowsTile<3, Output>(t);
      case 4:
        return RowsTile<4, Output>(t);
      default:
        return EightRowTile<Output>(t);
    }
  }
};

using Kernel = neon::LineKernel<kMR, kNR, kKR, UdotTile>;

}  // namespace

namespace neondot {
extern const KernelTable kTable;
const KernelTable kTable = Kernel::Table("neondot", 0x4EDD0812u);
}  // namespace neondot

}  // namespace qgemm

// NEON i8mm micro-kernel: 8 x 8 tile, UMMLA over depth groups of 8.
//
// UMMLA (vmmlaq_u32) multiplies a 2 x 8 block of u8 by an 8 x 2 block of u8
// into the 2 x 2 block of u32 sums it adds to:
//
//   acc = [s00 s01 s10 s11] += [x0 x1] . [y0 y1]^T
//   with x0, x1 the two 8-byte halves of the first operand (two rows of A,
//   8 depth steps each) and y0, y1 those of the second (two columns of B)
//
// Packed panels (kernels/neon/pack.h with G = KR = 8): per 8 depth steps,
//
//   A (8 rows):    [a0 p0..7][a1 p0..7] | [a2][a3] | [a4][a5] | [a6][a7]
//                   \___ va[0] ______/    va[1]      va[2]      va[3]
//   B (8 columns): [b0 p0..7][b1 p0..7] | [b2][b3] | [b4][b5] | [b6][b7]
//                   \___ vb[0] ______/    vb[1]      vb[2]      vb[3]
//
// so a row pair and a column pair are each one q register, exactly the
// lines-of-G layout the NEON tables use (the same packing code).
//
// Register tile: 16 u32x4 accumulators, acc[p][c] for row pair p and
// column pair c, each a 2 x 2 block of C (+ 4 A + 4 B = 24 live):
//
//                 cols 0,1          cols 2,3                 cols 6,7
//   rows 0,1  [c00 c01 c10 c11]  [c02 c03 c12 c13]  ...  acc[0][3]
//   rows 2,3      acc[1][0]          acc[1][1]      ...  acc[1][3]
//   rows 4,5      acc[2][0]             ...
//   rows 6,7      acc[3][0]             ...              acc[3][3]
//
//   acc[p][c] = vmmlaq_u32(acc[p][c], va[p], vb[c])
//
// One UMMLA = 2 x 2 x 8 = 32 MACs; per depth group of 8: 16 UMMLA for 512
// MACs, 8 q loads (4 LDP). The loop runs four groups per iteration (64
// UMMLA, 16 LDP, 4 loop instructions: 24.4 MACs per instruction).
//
// Row order is restored in registers before the output stage: a 2 x 2 block
// holds row 2p in its low 64 bits and row 2p + 1 in its high 64 bits, so
//
//   row 2p,     cols 0-3 = ZIP1.2D(acc[p][0], acc[p][1])  [c00 c01 c02 c03]
//   row 2p + 1, cols 0-3 = ZIP2.2D(acc[p][0], acc[p][1])  [c10 c11 c12 c13]
//   (cols 4-7 likewise from acc[p][2], acc[p][3])
//
// and each row goes to the NEON output stage as two int32x4 vectors
// (kernels/neon/register_output.h), never through memory.
//
// Per m_eff: the kernel is compiled for 1 to 4 row pairs and runs the
// fewest that cover m_eff (a one- or two-row call does 4 UMMLA per group,
// not 16).
//
// Exactness: UMMLA multiplies unsigned bytes exactly and adds a u32 lane at
// most 8 * 255 * 255 = 520200 per instruction, with wrap-around modulo 2^32,
// the ring in which docs/design.md defines the int32 sum: full-range uint8,
// no operand offset (b_packed_offset 0).
#include <arm_neon.h>

#include <cstddef>
#include <cstdint>

#include "dispatch/kernel_table.h"
#include "kernels/neon/pack.h"
#include "kernels/neon/register_output.h"

namespace qgemm {
namespace {

constexpr size_t kMR = 8;
constexpr size_t kNR = 8;
constexpr size_t kKR = 8;
constexpr size_t kGroupBytes = 64;  // one depth group of a panel, A or B
constexpr size_t kColumnPairs = kNR / 2;

// Gives the shared NEON output classes internal linkage in this file.
struct ThisFile {};

// One depth group: kPairs x 4 UMMLA.
template <size_t kPairs>
inline void Group(uint32x4_t (&acc)[kPairs][kColumnPairs], const uint8_t* a,
                  const uint8_t* b) {
  uint8x16_t vb[kColumnPairs];
  for (size_t c = 0; c < kColumnPairs; ++c) vb[c] = vld1q_u8(b + 16 * c);
  for (size_t p = 0; p < kPairs; ++p) {
    const uint8x16_t va = vld1q_u8(a + 16 * p);
    for (size_t c = 0; c < kColumnPairs; ++c) {
      acc[p][c] = vmmlaq_u32(acc[p][c], va, vb[c]);
    }
  }
}

// Raw sums of the first kPairs row pairs over the whole depth.
template <size_t kPairs>
inline void Accumulate(const TileArgs& t,
                       uint32x4_t (&acc)[kPairs][kColumnPairs]) {
  for (size_t p = 0; p < kPairs; ++p) {
    for (size_t c = 0; c < kColumnPairs; ++c) acc[p][c] = vdupq_n_u32(0);
  }
  const auto* a = static_cast<const uint8_t*>(t.a_panel);
  const auto* b = static_cast<const uint8_t*>(t.b_panel);
  const size_t groups = t.k_padded / kKR;
  for (size_t n = groups / 4; n != 0; --n) {
    Group<kPairs>(acc, a, b);
    Group<kPairs>(acc, a + kGroupBytes, b + kGroupBytes);
    Group<kPairs>(acc, a + 2 * kGroupBytes, b + 2 * kGroupBytes);
    Group<kPairs>(acc, a + 3 * kGroupBytes, b + 3 * kGroupBytes);
    a += 4 * kGroupBytes;
    b += 4 * kGroupBytes;
  }
  for (size_t n = groups % 4; n != 0; --n) {
    Group<kPairs>(acc, a, b);
    a += kGroupBytes;
    b += kGroupBytes;
  }
}

// Rows 2p and 2p + 1 of the tile, in row order, to the output stage.
template <size_t kPairs, typename Output>
void Tile(const TileArgs& t) {
  uint32x4_t acc[kPairs][kColumnPairs];
  Accumulate<kPairs>(t, acc);
  const Output out(t);
  for (size_t p = 0; p < kPairs; ++p) {
    const uint64x2_t b0 = vreinterpretq_u64_u32(acc[p][0]);
    const uint64x2_t b1 = vreinterpretq_u64_u32(acc[p][1]);
    const uint64x2_t b2 = vreinterpretq_u64_u32(acc[p][2]);
    const uint64x2_t b3 = vreinterpretq_u64_u32(acc[p][3]);
    const int32x4_t even[2] = {vreinterpretq_s32_u64(vzip1q_u64(b0, b1)),
                               vreinterpretq_s32_u64(vzip1q_u64(b2, b3))};
    out.Row(2 * p, even);
    if (2 * p + 1 < t.m_eff) {
      const int32x4_t odd[2] = {vreinterpretq_s32_u64(vzip2q_u64(b0, b1)),
                                vreinterpretq_s32_u64(vzip2q_u64(b2, b3))};
      out.Row(2 * p + 1, odd);
    }
  }
}

// The kernel for the fewest row pairs that cover m_eff.
template <typename Output>
void GemmTile(const TileArgs* t) {
  switch ((t->m_eff + 1) / 2) {
    case 1:
      Tile<1, Output>(*t);
      break;
    case 2:
      Tile<2, Output>(*t);
      break;
    case 3:
      Tile<3, Output>(*t);
      break;
    default:
      Tile<4, Output>(*t);
      break;
  }
}

size_t APanelBytes(size_t k_padded) { return kMR * k_padded; }
size_t BPanelBytes(size_t k_padded) { return kNR * k_padded; }

void PackA(uint32_t /*variant*/, size_t k, size_t m_eff, const uint8_t* a,
           size_t lda, void* panel, int32_t* row_sums) {
  neon::PackRowLines<kKR>(kMR, k, m_eff, a, lda, static_cast<uint8_t*>(panel),
                          row_sums);
}

void PackB(uint32_t /*variant*/, size_t k, size_t n_eff, const uint8_t* b,
           size_t ldb, int nk_layout, void* panel, int32_t* col_sums) {
  auto* dst = static_cast<uint8_t*>(panel);
  if (nk_layout) {
    neon::PackRowLines<kKR>(kNR, k, n_eff, b, ldb, dst, col_sums);
  } else {
    neon::PackColumnLines<kKR>(kNR, k, n_eff, b, ldb, dst, col_sums);
  }
}

using U8Output = neon::U8RowOutput<2, ThisFile>;
using S32Output = neon::S32RowOutput<2, ThisFile>;
using F32Output = neon::F32RowOutput<2, ThisFile>;

}  // namespace

namespace neoni8mm {
extern const KernelTable kTable;
const KernelTable kTable = {"neoni8mm",
                            0x4E8A0808u,
                            kMR,
                            kNR,
                            kKR,
                            APanelBytes,
                            BPanelBytes,
                            /*choose_variant=*/nullptr,
                            PackA,
                            PackB,
                            /*b_packed_offset=*/{0, 0},
                            {GemmTile<U8Output>, nullptr},
                            {GemmTile<S32Output>, nullptr},
                            {GemmTile<F32Output>, nullptr},
                            /*dot_rows_kn=*/neon::DotRowsKN,
                            /*dot_rows_nr=*/neon::kDotRowsNR};
}  // namespace neoni8mm

}  // namespace qgemm

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
// MACs, 8 q loads (two LD1 of four registers). The full tile's loop runs
// two groups per iteration: 32 UMMLA, 4 LD1, SUBS, B.NE: 26.9 MACs per
// instruction.
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

// Gives the shared NEON output classes internal linkage in this file.
struct ThisFile {};

// r<p> holds the four 2 x 2 blocks of row pair p (column pairs 0-3) in
// four consecutive registers: one assembly operand, which %S, %T, %U and %V
// name one register at a time (16 separate accumulators would exceed the
// 30 operands an asm statement may have). Four named variables, not an
// array or a struct: GCC 12 keeps those on the stack.

// The assembly below: B's column pairs of one depth group go to v4-v7, A's
// row pairs to v0-v3; ROW(ACC, A) are the UMMLAs of one row pair.
#define QGEMM_LOAD_B "ld1 {v4.16b, v5.16b, v6.16b, v7.16b}, [%[b]], #64\n"
#define QGEMM_ROW(ACC, A)    \
  "ummla %S[" ACC "].4s, " A \
  ".16b, v4.16b\n"           \
  "ummla %T[" ACC "].4s, " A \
  ".16b, v5.16b\n"           \
  "ummla %U[" ACC "].4s, " A \
  ".16b, v6.16b\n"           \
  "ummla %V[" ACC "].4s, " A ".16b, v7.16b\n"
// Two depth groups per iteration (GROUP twice); an odd number of groups
// enters the first iteration at its second group.
#define QGEMM_LOOP(GROUP)    \
  "tbnz %[groups], #0, 2f\n" \
  "1:\n" GROUP "2:\n" GROUP  \
  "subs %[n], %[n], #1\n"    \
  "b.ne 1b\n"
#define QGEMM_LOOP_OPERANDS [a] "+r"(a), [b] "+r"(b), [n] "+r"(iterations)
#define QGEMM_LOOP_INPUTS [groups] "r"(groups)
#define QGEMM_LOOP_CLOBBERS \
  "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "memory", "cc"

// Raw sums of the first kPairs row pairs over the whole depth, in assembly
// because GCC 12 rotates the accumulators through MOVs, keeps them on the
// stack between loops and loads A one register at a time. Each 64-byte
// group of A holds all four row pairs; a smaller kernel loads its first
// kPairs and skips the rest. B's group is one LD1 of four registers. Per
// iteration (two groups), with SUBS + B.NE:
//   four pairs:  32 UMMLA + 4 LD1 + 2           = 38 instructions for
//                1024 MACs: 26.9 MACs per instruction
//   three pairs: 24 UMMLA + 2 LD1 + 2 LDP + 2 LDR + 2 = 32 for 768: 24
//   two pairs:   16 UMMLA + 2 LD1 + 2 LDP + 2    = 22 for 512: 23.3
//   one pair:     8 UMMLA + 2 LD1 + 2 LDR + 2    = 14 for 256: 18.3
//                (m_eff 1: half of them on the padding row)
template <size_t kPairs>
inline void Accumulate(const TileArgs& t, uint32x4x4_t& r0, uint32x4x4_t& r1,
                       uint32x4x4_t& r2, uint32x4x4_t& r3) {
  static_assert(kPairs >= 1 && kPairs <= 4, "row pairs of an 8-row tile");
  const uint32x4_t zero = vdupq_n_u32(0);
  r0 = r1 = r2 = r3 = {{zero, zero, zero, zero}};
  const auto* a = static_cast<const uint8_t*>(t.a_panel);
  const auto* b = static_cast<const uint8_t*>(t.b_panel);
  const size_t groups = t.k_padded / kKR;
  if (groups == 0) return;
  size_t iterations = (groups + 1) / 2;
  if constexpr (kPairs == 4) {
    asm volatile(
        QGEMM_LOOP(QGEMM_LOAD_B                                           //
                   "ld1 {v0.16b, v1.16b, v2.16b, v3.16b}, [%[a]], #64\n"  //
                   QGEMM_ROW("r0", "v0")                                  //
                   QGEMM_ROW("r1", "v1")                                  //
                   QGEMM_ROW("r2", "v2")                                  //
                   QGEMM_ROW("r3", "v3"))
        : QGEMM_LOOP_OPERANDS, [r0] "+w"(r0), [r1] "+w"(r1), [r2] "+w"(r2),
          [r3] "+w"(r3)
        : QGEMM_LOOP_INPUTS
        : QGEMM_LOOP_CLOBBERS);
  } else if constexpr (kPairs == 3) {
    asm volatile(
        QGEMM_LOOP(QGEMM_LOAD_B                 //
                   "ldp q0, q1, [%[a]], #32\n"  //
                   "ldr q2, [%[a]], #32\n"      //
                   QGEMM_ROW("r0", "v0")        //
                   QGEMM_ROW("r1", "v1")        //
                   QGEMM_ROW("r2", "v2"))
        : QGEMM_LOOP_OPERANDS, [r0] "+w"(r0), [r1] "+w"(r1), [r2] "+w"(r2)
        : QGEMM_LOOP_INPUTS
        : QGEMM_LOOP_CLOBBERS);
  } else if constexpr (kPairs == 2) {
    asm volatile(QGEMM_LOOP(QGEMM_LOAD_B                 //
                            "ldp q0, q1, [%[a]], #64\n"  //
                            QGEMM_ROW("r0", "v0")        //
                            QGEMM_ROW("r1", "v1"))
                 : QGEMM_LOOP_OPERANDS, [r0] "+w"(r0), [r1] "+w"(r1)
                 : QGEMM_LOOP_INPUTS
                 : QGEMM_LOOP_CLOBBERS);
  } else {
    asm volatile(QGEMM_LOOP(QGEMM_LOAD_B             //
                            "ldr q0, [%[a]], #64\n"  //
                            QGEMM_ROW("r0", "v0"))
                 : QGEMM_LOOP_OPERANDS, [r0] "+w"(r0)
                 : QGEMM_LOOP_INPUTS
                 : QGEMM_LOOP_CLOBBERS);
  }
}
#undef QGEMM_LOAD_B
#undef QGEMM_ROW
#undef QGEMM_LOOP
#undef QGEMM_LOOP_OPERANDS
#undef QGEMM_LOOP_INPUTS
#undef QGEMM_LOOP_CLOBBERS

// Row order restored in registers: row 2p of the pair is the low 64 bits of
// each 2 x 2 block, row 2p + 1 the high (ZIP1 / ZIP2 on 64-bit lanes). In
// assembly too, since GCC 12 takes a register of a four-register operand
// apart through the stack.
inline void RestoreRows(const uint32x4x4_t& blocks, int32x4_t (&even)[2],
                        int32x4_t (&odd)[2]) {
  asm("zip1 %[e0].2d, %S[blk].2d, %T[blk].2d\n"
      "zip2 %[o0].2d, %S[blk].2d, %T[blk].2d\n"
      "zip1 %[e1].2d, %U[blk].2d, %V[blk].2d\n"
      "zip2 %[o1].2d, %U[blk].2d, %V[blk].2d\n"
      : [e0] "=&w"(even[0]), [o0] "=&w"(odd[0]), [e1] "=&w"(even[1]),
        [o1] "=&w"(odd[1])
      : [blk] "w"(blocks));
}

// Rows 2p and 2p + 1 (when live) of the tile to the output stage.
template <typename Output>
inline void StorePair(const Output& out, const uint32x4x4_t& blocks, size_t p,
                      size_t m_eff) {
  int32x4_t even[2], odd[2];
  RestoreRows(blocks, even, odd);
  out.Row(2 * p, even);
  if (2 * p + 1 < m_eff) out.Row(2 * p + 1, odd);
}

template <size_t kPairs, typename Output>
void Tile(const TileArgs& t) {
  uint32x4x4_t r0, r1, r2, r3;
  Accumulate<kPairs>(t, r0, r1, r2, r3);
  const Output out(t);
  StorePair(out, r0, 0, t.m_eff);
  if constexpr (kPairs >= 2) StorePair(out, r1, 1, t.m_eff);
  if constexpr (kPairs >= 3) StorePair(out, r2, 2, t.m_eff);
  if constexpr (kPairs >= 4) StorePair(out, r3, 3, t.m_eff);
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

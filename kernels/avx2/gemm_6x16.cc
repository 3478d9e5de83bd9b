// AVX2 6x16 micro-kernels: uint8 x uint8 -> exact int32, then the output
// stage on the tile while it is still in registers.
//
// Register tile (12 of the 16 ymm registers), one int32 lane per column:
//
//              columns 0..7    columns 8..15
//     row 0  [ acc[0][0] ]   [ acc[0][1] ]
//     row 1  [ acc[1][0] ]   [ acc[1][1] ]
//      ...        ...             ...
//     row 5  [ acc[5][0] ]   [ acc[5][1] ]
//
// plus two B registers, one broadcast A register and one product register.
// A tile with m_eff < 6 rows runs a loop over only its m_eff rows (a GEMV
// row costs one row, not six), and its A panel holds only those rows.
//
// Variant 0, exact for all uint8 data (KR = 8, depth padded with zeros):
//
//   A panel, int16 (zero-extended), per depth block of 8 (16 * m_eff bytes):
//     row 0: a0[k..k+7] | row 1: a1[k..k+7] | ... | row m_eff-1
//   B panel, uint8, per depth pair (k, k+1), k even (32 bytes), byte pairs
//   (b[k][j], b[k+1][j]) of the columns in order:
//     | 0 1 2 3 4 5 6 7 | 8 9 10 11 12 13 14 15 |
//
//   step (one depth pair):  B0 = vpmovzxbw (16 bytes)  int16 pairs, cols 0-7
//                           B1 = vpmovzxbw (16 bytes)  columns 8-15
//     for each row i:       A  = vpbroadcastd (a_i[k], a_i[k+1])
//                           acc[i][h] += vpmaddwd(A, Bh)
//   vpmaddwd multiplies int16 lanes and adds adjacent products into int32:
//   a[k]*b[k][j] + a[k+1]*b[k+1][j] <= 2*255*255 = 130050, exact. vpaddd
//   wraps modulo 2^32, the ring the accumulator lives in (docs/design.md,
//   "Accumulation").
//   Instructions per step: 2 vpmovzxbw (load + widen) + 6 vpbroadcastd
//   (loads) + 12 vpmaddwd + 12 vpaddd = 192 multiply-accumulates: 26 vector
//   ALU ops where the register-only peak loop needs 24, 8 loads.
//
// Variant 1, "narrow" weights (KR = 8):
//
//   A panel, uint8, per depth block of 8 (8 * m_eff bytes):
//     row 0: a0[k..k+7] | ... | row m_eff-1
//   B panel, int8 b' = b - 128, per depth quad k..k+3 (64 bytes):
//     col 0: b'[k..k+3][0] | col 1 | ... | col 7 || col 8 | ... | col 15
//
//   step (one quad):   for each row i:  A = vpbroadcastd a_i[k..k+3]
//     acc[i][h] += vpmaddwd(vpmaddubsw(A, Bh), ones)
//   vpmaddubsw forms, per column, the int16 sums a[k]b'[k] + a[k+1]b'[k+1]
//   and a[k+2]b'[k+2] + a[k+3]b'[k+3], SATURATING to int16. The pairs it
//   sums are exactly (k, k+1) with k even, of one column. pack.cc's
//   ChooseVariant picks this variant only when every such pair of B has
//   |b0'| + |b1'| <= 128 (|b' | = |b - 128|; a K tail pairs a real entry
//   with a padded b' = 0, and |b'| <= 128 always). Then, with 0 <= a <= 255,
//     |a0 b0' + a1 b1'| <= 255 (|b0'| + |b1'|) <= 255 * 128 = 32640 < 32767,
//   so no lane saturates and the int16 sum is exact; vpmaddwd with ones adds
//   the two pair sums into int32 exactly (|.| <= 65280). The driver adds
//   (128 - zb) * rowsum(A) through row_offset (kernel_table.h), so the
//   result equals variant 0's bit for bit. Per quad step: 6 broadcasts, 12
//   vpmaddubsw (B as their memory operand) + 12 vpmaddwd + 12 vpaddd = 384
//   MACs in 36 vector ALU ops (variant 0: 52 ops).
//
// The output stage (DESIGN.md, on the tile while it is still in registers)
// is kernels/avx2/output_stage_6x16.inl, shared with the AVX-VNNI kernel of
// the same tile shape.
#include <immintrin.h>

#include <cstring>

#include "dispatch/kernel_table.h"
#include "kernels/avx2/output_stage.h"
#include "kernels/avx2/pack.h"
// Internal-linkage copies for this file's -mavx2 -mfma (see its comment).
#include "kernels/avx2/output_stage_6x16.inl"

namespace qgemm {
namespace {

using avx2::kKR;

// The depth loops are inline assembly: with intrinsics GCC keeps some of the
// 12 accumulators on the stack, or reassociates the vpaddd chains across the
// unrolled steps and spills the products, which costs a third of the speed.
// Each loop zeroes and returns all 12 accumulators (outputs pinned to
// ymm0..ymm11 by the 4 clobbered temporaries) and updates the first ROWS
// rows. Operands: %[a] A panel, %[b] B panel, %[n] depth blocks of kKR.

// clang-format off
// Variant 0, row i, depth pair p of the block: ymm12/13 = B columns 0-7 /
// 8-15 as int16 pairs, ymm14 = (a_i[k], a_i[k+1]) broadcast.
#define QGEMM_EXACT_ROW(i, p)                            \
  "vpbroadcastd " #i "*16+" #p "*4(%[a]), %%ymm14\n\t"  \
  "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n\t"               \
  "vpaddd %%ymm15, %[c" #i "0], %[c" #i "0]\n\t"        \
  "vpmaddwd %%ymm13, %%ymm14, %%ymm15\n\t"               \
  "vpaddd %%ymm15, %[c" #i "1], %[c" #i "1]\n\t"
// Zero-extends the pair's 32 bytes of B straight from memory: the first
// 16 bytes are columns 0-7, the next 16 columns 8-15 (layout in pack.cc).
// A load-and-extend (one load and one shuffle uop) measured 4-7% faster on
// an AVX2 EPYC than one load and two vpunpck with a zero operand.
#define QGEMM_EXACT_PAIR(ROWS, p)                        \
  "vpmovzxbw " #p "*32(%[b]), %%ymm12\n\t"               \
  "vpmovzxbw " #p "*32+16(%[b]), %%ymm13\n\t" ROWS(p)

// Variant 1, row i, depth quad q of the block: ymm14 = a_i[k..k+3]
// broadcast, ymm13 = int16 ones; B (int8) is read from memory.
#define QGEMM_NARROW_ROW(i, q)                           \
  "vpbroadcastd " #i "*8+" #q "*4(%[a]), %%ymm14\n\t"   \
  "vpmaddubsw " #q "*64(%[b]), %%ymm14, %%ymm15\n\t"     \
  "vpmaddwd %%ymm13, %%ymm15, %%ymm15\n\t"               \
  "vpaddd %%ymm15, %[c" #i "0], %[c" #i "0]\n\t"        \
  "vpmaddubsw " #q "*64+32(%[b]), %%ymm14, %%ymm15\n\t"  \
  "vpmaddwd %%ymm13, %%ymm15, %%ymm15\n\t"               \
  "vpaddd %%ymm15, %[c" #i "1], %[c" #i "1]\n\t"

#define QGEMM_ROWS1(R, s) R(0, s)
#define QGEMM_ROWS2(R, s) QGEMM_ROWS1(R, s) R(1, s)
#define QGEMM_ROWS3(R, s) QGEMM_ROWS2(R, s) R(2, s)
#define QGEMM_ROWS4(R, s) QGEMM_ROWS3(R, s) R(3, s)
#define QGEMM_ROWS5(R, s) QGEMM_ROWS4(R, s) R(4, s)
#define QGEMM_ROWS6(R, s) QGEMM_ROWS5(R, s) R(5, s)

#define QGEMM_ZERO_ACC                                                    \
  "vpxor %[c00], %[c00], %[c00]\n\t" "vpxor %[c01], %[c01], %[c01]\n\t"   \
  "vpxor %[c10], %[c10], %[c10]\n\t" "vpxor %[c11], %[c11], %[c11]\n\t"   \
  "vpxor %[c20], %[c20], %[c20]\n\t" "vpxor %[c21], %[c21], %[c21]\n\t"   \
  "vpxor %[c30], %[c30], %[c30]\n\t" "vpxor %[c31], %[c31], %[c31]\n\t"   \
  "vpxor %[c40], %[c40], %[c40]\n\t" "vpxor %[c41], %[c41], %[c41]\n\t"   \
  "vpxor %[c50], %[c50], %[c50]\n\t" "vpxor %[c51], %[c51], %[c51]\n\t"

#define QGEMM_ACC_OUTPUTS                                                  \
  [c00] "=&x"(acc[0][0]), [c01] "=&x"(acc[0][1]), [c10] "=&x"(acc[1][0]), \
      [c11] "=&x"(acc[1][1]), [c20] "=&x"(acc[2][0]),                     \
      [c21] "=&x"(acc[2][1]), [c30] "=&x"(acc[3][0]),                     \
      [c31] "=&x"(acc[3][1]), [c40] "=&x"(acc[4][0]),                     \
      [c41] "=&x"(acc[4][1]), [c50] "=&x"(acc[5][0]),                     \
      [c51] "=&x"(acc[5][1]), [a] "+r"(a), [b] "+r"(b), [n] "+r"(n)

// B streams from memory when A is short (GEMV): the 1- and 2-row loops ask
// for it 8 KiB ahead (measured on 1x4096x4096: 2 KiB 52, 8 KiB 60 GOP/s
// exact; 16 KiB no better). Taller tiles reuse their B panel from L1 and go
// without (fetching panels ahead there cost 128x4096x4096 a few percent).
#define QGEMM_PREFETCH_B                                                   \
  "prefetcht0 8192(%[b])\n\t"                                             \
  "prefetcht0 8192+64(%[b])\n\t"

#define QGEMM_EXACT_LOOP(ROWS, rows, PREFETCH)                              \
  asm volatile(QGEMM_ZERO_ACC                                               \
               "test %[n], %[n]\n\t"                                        \
               "jz 2f\n\t"                                                  \
               "1:\n\t" PREFETCH                                            \
               QGEMM_EXACT_PAIR(ROWS, 0) QGEMM_EXACT_PAIR(ROWS, 1)          \
               QGEMM_EXACT_PAIR(ROWS, 2) QGEMM_EXACT_PAIR(ROWS, 3)          \
               "add $" #rows "*16, %[a]\n\t"                                \
               "sub $-128, %[b]\n\t"                                        \
               "dec %[n]\n\t"                                               \
               "jnz 1b\n\t"                                                 \
               "2:\n\t"                                                     \
               : QGEMM_ACC_OUTPUTS                                          \
               :                                                            \
               : "xmm12", "xmm13", "xmm14", "xmm15", "cc", "memory")

#define QGEMM_NARROW_LOOP(ROWS, rows, PREFETCH)                             \
  asm volatile(QGEMM_ZERO_ACC                                               \
               "vpcmpeqw %%ymm13, %%ymm13, %%ymm13\n\t"                     \
               "vpsrlw $15, %%ymm13, %%ymm13\n\t"                           \
               "test %[n], %[n]\n\t"                                        \
               "jz 2f\n\t"                                                  \
               "1:\n\t" PREFETCH                                            \
               ROWS(QGEMM_NARROW_ROW, 0) ROWS(QGEMM_NARROW_ROW, 1)          \
               "add $" #rows "*8, %[a]\n\t"                                 \
               "sub $-128, %[b]\n\t"                                        \
               "dec %[n]\n\t"                                               \
               "jnz 1b\n\t"                                                 \
               "2:\n\t"                                                     \
               : QGEMM_ACC_OUTPUTS                                          \
               :                                                            \
               : "xmm12", "xmm13", "xmm14", "xmm15", "cc", "memory")

#define QGEMM_EXACT_ROWS1(p) QGEMM_ROWS1(QGEMM_EXACT_ROW, p)
#define QGEMM_EXACT_ROWS2(p) QGEMM_ROWS2(QGEMM_EXACT_ROW, p)
#define QGEMM_EXACT_ROWS3(p) QGEMM_ROWS3(QGEMM_EXACT_ROW, p)
#define QGEMM_EXACT_ROWS4(p) QGEMM_ROWS4(QGEMM_EXACT_ROW, p)
#define QGEMM_EXACT_ROWS5(p) QGEMM_ROWS5(QGEMM_EXACT_ROW, p)
#define QGEMM_EXACT_ROWS6(p) QGEMM_ROWS6(QGEMM_EXACT_ROW, p)

// clang-format on

// Fills acc[0..kRows)[0..1] with the tile's sum over the whole depth plus
// its row and column offsets (output_stage_6x16.inl); the other rows are
// zero.
template <bool kNarrow>
struct DepthLoop {
  template <int kRows>
  __attribute__((always_inline)) static void Run(const TileArgs& t,
                                                 __m256i (&acc)[6][2]) {
    const auto* a = static_cast<const uint8_t*>(t.a_panel);
    const auto* b = static_cast<const uint8_t*>(t.b_panel);
    size_t n = t.k_padded / kKR;
    if constexpr (kNarrow) {
      if constexpr (kRows == 1) {
        QGEMM_NARROW_LOOP(QGEMM_ROWS1, 1, QGEMM_PREFETCH_B);
      } else if constexpr (kRows == 2) {
        QGEMM_NARROW_LOOP(QGEMM_ROWS2, 2, QGEMM_PREFETCH_B);
      } else if constexpr (kRows == 3) {
        QGEMM_NARROW_LOOP(QGEMM_ROWS3, 3, "");
      } else if constexpr (kRows == 4) {
        QGEMM_NARROW_LOOP(QGEMM_ROWS4, 4, "");
      } else if constexpr (kRows == 5) {
        QGEMM_NARROW_LOOP(QGEMM_ROWS5, 5, "");
      } else {
        static_assert(kRows == 6, "6x16 tile");
        QGEMM_NARROW_LOOP(QGEMM_ROWS6, 6, "");
      }
    } else {
      if constexpr (kRows == 1) {
        QGEMM_EXACT_LOOP(QGEMM_EXACT_ROWS1, 1, QGEMM_PREFETCH_B);
      } else if constexpr (kRows == 2) {
        QGEMM_EXACT_LOOP(QGEMM_EXACT_ROWS2, 2, QGEMM_PREFETCH_B);
      } else if constexpr (kRows == 3) {
        QGEMM_EXACT_LOOP(QGEMM_EXACT_ROWS3, 3, "");
      } else if constexpr (kRows == 4) {
        QGEMM_EXACT_LOOP(QGEMM_EXACT_ROWS4, 4, "");
      } else if constexpr (kRows == 5) {
        QGEMM_EXACT_LOOP(QGEMM_EXACT_ROWS5, 5, "");
      } else {
        static_assert(kRows == 6, "6x16 tile");
        QGEMM_EXACT_LOOP(QGEMM_EXACT_ROWS6, 6, "");
      }
    }
    AddTileOffsets<kRows>(t, acc);
  }
};

}  // namespace

namespace avx2 {
extern const KernelTable kTable;
const KernelTable kTable = {
    "avx2",
    /*packing_format=*/0xA5206002u,
    kMR,
    kNR,
    kKR,
    APanelBytes,
    BPanelBytes,
    ChooseVariant,
    PackAPanel,
    PackBPanel,
    /*b_packed_offset=*/{0, 128},
    {Tile6x16<DepthLoop<false>>::GemmU8, Tile6x16<DepthLoop<true>>::GemmU8},
    {Tile6x16<DepthLoop<false>>::GemmS32, Tile6x16<DepthLoop<true>>::GemmS32},
    {Tile6x16<DepthLoop<false>>::GemmF32, Tile6x16<DepthLoop<true>>::GemmF32},
    DotRowsKN,
    kDotRowsNR,
};
}  // namespace avx2

}  // namespace qgemm
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
// A tile with m_eff < 6 rows runs an instantiation with only m_eff rows (a
// GEMV row costs one row, not six).
//
// Variant 0, exact for all uint8 data (KR = 8, depth padded with zeros):
//
//   A panel, int16 (zero-extended), per depth block of 8 (96 bytes):
//     row 0: a0[k..k+7] | row 1: a1[k..k+7] | ... | row 5: a5[k..k+7]
//   B panel, uint8, per depth pair (k, k+1), k even (32 bytes):
//     b[k][0] b[k+1][0] b[k][1] b[k+1][1] ... b[k][15] b[k+1][15]
//
//   step (one depth pair):  B0 = vpmovzxbw(bytes 0..15)    columns 0..7
//                           B1 = vpmovzxbw(bytes 16..31)   columns 8..15
//     for each row i:       A  = vpbroadcastd (a_i[k], a_i[k+1])
//                           acc[i][h] += vpmaddwd(A, Bh)
//   vpmaddwd multiplies int16 lanes and adds adjacent products into int32:
//   a[k]*b[k][j] + a[k+1]*b[k+1][j] <= 2*255*255 = 130050, exact. vpaddd
//   wraps modulo 2^32, the ring DESIGN.md's accumulator lives in.
//   Instructions per step: 2 vpmovzxbw + 6 vpbroadcastd (loads) + 12
//   vpmaddwd + 12 vpaddd = 192 multiply-accumulates.
//
// Variant 1, "narrow" weights (KR = 8):
//
//   A panel, uint8, per depth block of 8 (48 bytes):
//     row 0: a0[k..k+7] | ... | row 5: a5[k..k+7]
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
//   result equals variant 0's bit for bit. Per quad step: 2 loads of B, 6
//   broadcasts, 12 vpmaddubsw + 12 vpmaddwd + 12 vpaddd = 384 MACs.
//
// Output stage (DESIGN.md), 8 columns per ymm, per-column parameters:
//   x = acc + row_offset[i] + col_offset[j]                    (vpaddd, wraps)
//   saturating x * 2^left: vpsllvd, and where vpsravd does not give x back
//     the product left int32, so x = x < 0 ? INT32_MIN : INT32_MAX
//   SRDHM(x, M0) = floor((x*M0 + 2^30) / 2^31), which equals gemmlowp's
//     truncating form with its sign-dependent nudge (ties toward +inf);
//     x*M0 in 64 bits with vpmuldq on even and (shifted) odd lanes; bits
//     31..62 of the sum are the int32 result (a logical shift suffices as
//     the result fits int32), and INT32_MIN * INT32_MIN, whose result 2^31
//     wraps to INT32_MIN, is flipped to INT32_MAX
//   RDBPOT(x, right): (x >>a right) + (x & mask > (mask >> 1) + (x < 0)),
//     mask = 2^right - 1, per lane (vpsravd)
//   clamp to [c_min - zc, c_max - zc], add zc (exact), vpackssdw/vpackuswb.
// Only m_eff x n_eff of C is written: full rows with one 16-byte store,
// partial rows with 8/4/2/1-byte stores (int32 output: vpmaskmovd).
#include <immintrin.h>

#include <cstring>

#include "dispatch/kernel_table.h"
#include "kernels/avx2/pack.h"

namespace qgemm {
namespace {

using avx2::kKR;
using avx2::kMR;
using avx2::kNR;

__m256i Broadcast32(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return _mm256_set1_epi32(v);
}

// Keeps each accumulator in its register from step to step: without it GCC
// reassociates the vpaddd chains across the unrolled depth steps, computes
// all products first and spills them.
template <int kRows>
__attribute__((always_inline)) inline void PinAccumulators(
    __m256i (&acc)[kRows][2]) {
#pragma GCC unroll 6
  for (int i = 0; i < kRows; ++i) {
    asm("" : "+x"(acc[i][0]), "+x"(acc[i][1]));
  }
}

// Variant 0: see the drawing above.
template <int kRows>
__attribute__((always_inline)) inline void AccumulateExact(
    const TileArgs& t, __m256i (&acc)[kRows][2]) {
  for (int i = 0; i < kRows; ++i) {
    acc[i][0] = _mm256_setzero_si256();
    acc[i][1] = _mm256_setzero_si256();
  }
  const auto* a = static_cast<const uint8_t*>(t.a_panel);
  const auto* b = static_cast<const uint8_t*>(t.b_panel);
  for (size_t blocks = t.k_padded / kKR; blocks != 0; --blocks) {
#pragma GCC unroll 4
    for (int p = 0; p < 4; ++p) {
      const __m256i b0 = _mm256_cvtepu8_epi16(
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 32 * p)));
      const __m256i b1 = _mm256_cvtepu8_epi16(
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 32 * p + 16)));
#pragma GCC unroll 6
      for (int i = 0; i < kRows; ++i) {
        const __m256i ai = Broadcast32(a + 16 * i + 4 * p);
        acc[i][0] = _mm256_add_epi32(acc[i][0], _mm256_madd_epi16(ai, b0));
        acc[i][1] = _mm256_add_epi32(acc[i][1], _mm256_madd_epi16(ai, b1));
      }
      PinAccumulators(acc);
    }
    a += kMR * 2 * kKR;
    b += kNR * kKR;
  }
}

// Variant 1: see the drawing and the exactness argument above.
template <int kRows>
__attribute__((always_inline)) inline void AccumulateNarrow(
    const TileArgs& t, __m256i (&acc)[kRows][2]) {
  for (int i = 0; i < kRows; ++i) {
    acc[i][0] = _mm256_setzero_si256();
    acc[i][1] = _mm256_setzero_si256();
  }
  const __m256i ones = _mm256_set1_epi16(1);
  const auto* a = static_cast<const uint8_t*>(t.a_panel);
  const auto* b = static_cast<const uint8_t*>(t.b_panel);
  for (size_t blocks = t.k_padded / kKR; blocks != 0; --blocks) {
#pragma GCC unroll 2
    for (int q = 0; q < 2; ++q) {
      const __m256i b0 =
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 64 * q));
      const __m256i b1 = _mm256_loadu_si256(
          reinterpret_cast<const __m256i*>(b + 64 * q + 32));
#pragma GCC unroll 6
      for (int i = 0; i < kRows; ++i) {
        const __m256i ai = Broadcast32(a + 8 * i + 4 * q);
        acc[i][0] = _mm256_add_epi32(
            acc[i][0], _mm256_madd_epi16(_mm256_maddubs_epi16(ai, b0), ones));
        acc[i][1] = _mm256_add_epi32(
            acc[i][1], _mm256_madd_epi16(_mm256_maddubs_epi16(ai, b1), ones));
      }
      PinAccumulators(acc);
    }
    a += kMR * kKR;
    b += kNR * kKR;
  }
}

// The 6-row loops are written in assembly: with intrinsics GCC keeps some
// of the 12 accumulators on the stack (or reassociates the vpaddd chains and
// spills the products), which costs a third of the speed. The operands pin
// the accumulators to ymm0..ymm11 (ymm12..15 are clobbered temporaries).
__attribute__((always_inline)) inline void AccumulateExact6(
    const TileArgs& t, __m256i (&acc)[6][2]) {
  for (int i = 0; i < 6; ++i) {
    acc[i][0] = _mm256_setzero_si256();
    acc[i][1] = _mm256_setzero_si256();
  }
  size_t blocks = t.k_padded / kKR;
  if (blocks == 0) return;
  const auto* a = static_cast<const uint8_t*>(t.a_panel);
  const auto* b = static_cast<const uint8_t*>(t.b_panel);
  asm volatile(
      "1:\n"
      "vpmovzxbw 0(%[b]), %%ymm12\n"
      "vpmovzxbw 16(%[b]), %%ymm13\n"
      "vpbroadcastd 0(%[a]), %%ymm14\n"
      "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n"
      "vpaddd %%ymm15, %[c00], %[c00]\n"
      "vpmaddwd %%ymm13, %%ymm14, %%ymm15\n"
      "vpaddd %%ymm15, %[c01], %[c01]\n"
      "vpbroadcastd 16(%[a]), %%ymm14\n"
      "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n"
      "vpaddd %%ymm15, %[c10], %[c10]\n"
      "vpmaddwd %%ymm13, %%ymm14, %%ymm15\n"
      "vpaddd %%ymm15, %[c11], %[c11]\n"
      "vpbroadcastd 32(%[a]), %%ymm14\n"
      "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n"
      "vpaddd %%ymm15, %[c20], %[c20]\n"
      "vpmaddwd %%ymm13, %%ymm14, %%ymm15\n"
      "vpaddd %%ymm15, %[c21], %[c21]\n"
      "vpbroadcastd 48(%[a]), %%ymm14\n"
      "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n"
      "vpaddd %%ymm15, %[c30], %[c30]\n"
      "vpmaddwd %%ymm13, %%ymm14, %%ymm15\n"
      "vpaddd %%ymm15, %[c31], %[c31]\n"
      "vpbroadcastd 64(%[a]), %%ymm14\n"
      "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n"
      "vpaddd %%ymm15, %[c40], %[c40]\n"
      "vpmaddwd %%ymm13, %%ymm14, %%ymm15\n"
      "vpaddd %%ymm15, %[c41], %[c41]\n"
      "vpbroadcastd 80(%[a]), %%ymm14\n"
      "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n"
      "vpaddd %%ymm15, %[c50], %[c50]\n"
      "vpmaddwd %%ymm13, %%ymm14, %%ymm15\n"
      "vpaddd %%ymm15, %[c51], %[c51]\n"
      "vpmovzxbw 32(%[b]), %%ymm12\n"
      "vpmovzxbw 48(%[b]), %%ymm13\n"
      "vpbroadcastd 4(%[a]), %%ymm14\n"
      "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n"
      "vpaddd %%ymm15, %[c00], %[c00]\n"
      "vpmaddwd %%ymm13, %%ymm14, %%ymm15\n"
      "vpaddd %%ymm15, %[c01], %[c01]\n"
      "vpbroadcastd 20(%[a]), %%ymm14\n"
      "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n"
      "vpaddd %%ymm15, %[c10], %[c10]\n"
      "vpmaddwd %%ymm13, %%ymm14, %%ymm15\n"
      "vpaddd %%ymm15, %[c11], %[c11]\n"
      "vpbroadcastd 36(%[a]), %%ymm14\n"
      "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n"
      "vpaddd %%ymm15, %[c20], %[c20]\n"
      "vpmaddwd %%ymm13, %%ymm14, %%ymm15\n"
      "vpaddd %%ymm15, %[c21], %[c21]\n"
      "vpbroadcastd 52(%[a]), %%ymm14\n"
      "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n"
      "vpaddd %%ymm15, %[c30], %[c30]\n"
      "vpmaddwd %%ymm13, %%ymm14, %%ymm15\n"
      "vpaddd %%ymm15, %[c31], %[c31]\n"
      "vpbroadcastd 68(%[a]), %%ymm14\n"
      "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n"
      "vpaddd %%ymm15, %[c40], %[c40]\n"
      "vpmaddwd %%ymm13, %%ymm14, %%ymm15\n"
      "vpaddd %%ymm15, %[c41], %[c41]\n"
      "vpbroadcastd 84(%[a]), %%ymm14\n"
      "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n"
      "vpaddd %%ymm15, %[c50], %[c50]\n"
      "vpmaddwd %%ymm13, %%ymm14, %%ymm15\n"
      "vpaddd %%ymm15, %[c51], %[c51]\n"
      "vpmovzxbw 64(%[b]), %%ymm12\n"
      "vpmovzxbw 80(%[b]), %%ymm13\n"
      "vpbroadcastd 8(%[a]), %%ymm14\n"
      "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n"
      "vpaddd %%ymm15, %[c00], %[c00]\n"
      "vpmaddwd %%ymm13, %%ymm14, %%ymm15\n"
      "vpaddd %%ymm15, %[c01], %[c01]\n"
      "vpbroadcastd 24(%[a]), %%ymm14\n"
      "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n"
      "vpaddd %%ymm15, %[c10], %[c10]\n"
      "vpmaddwd %%ymm13, %%ymm14, %%ymm15\n"
      "vpaddd %%ymm15, %[c11], %[c11]\n"
      "vpbroadcastd 40(%[a]), %%ymm14\n"
      "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n"
      "vpaddd %%ymm15, %[c20], %[c20]\n"
      "vpmaddwd %%ymm13, %%ymm14, %%ymm15\n"
      "vpaddd %%ymm15, %[c21], %[c21]\n"
      "vpbroadcastd 56(%[a]), %%ymm14\n"
      "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n"
      "vpaddd %%ymm15, %[c30], %[c30]\n"
      "vpmaddwd %%ymm13, %%ymm14, %%ymm15\n"
      "vpaddd %%ymm15, %[c31], %[c31]\n"
      "vpbroadcastd 72(%[a]), %%ymm14\n"
      "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n"
      "vpaddd %%ymm15, %[c40], %[c40]\n"
      "vpmaddwd %%ymm13, %%ymm14, %%ymm15\n"
      "vpaddd %%ymm15, %[c41], %[c41]\n"
      "vpbroadcastd 88(%[a]), %%ymm14\n"
      "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n"
      "vpaddd %%ymm15, %[c50], %[c50]\n"
      "vpmaddwd %%ymm13, %%ymm14, %%ymm15\n"
      "vpaddd %%ymm15, %[c51], %[c51]\n"
      "vpmovzxbw 96(%[b]), %%ymm12\n"
      "vpmovzxbw 112(%[b]), %%ymm13\n"
      "vpbroadcastd 12(%[a]), %%ymm14\n"
      "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n"
      "vpaddd %%ymm15, %[c00], %[c00]\n"
      "vpmaddwd %%ymm13, %%ymm14, %%ymm15\n"
      "vpaddd %%ymm15, %[c01], %[c01]\n"
      "vpbroadcastd 28(%[a]), %%ymm14\n"
      "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n"
      "vpaddd %%ymm15, %[c10], %[c10]\n"
      "vpmaddwd %%ymm13, %%ymm14, %%ymm15\n"
      "vpaddd %%ymm15, %[c11], %[c11]\n"
      "vpbroadcastd 44(%[a]), %%ymm14\n"
      "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n"
      "vpaddd %%ymm15, %[c20], %[c20]\n"
      "vpmaddwd %%ymm13, %%ymm14, %%ymm15\n"
      "vpaddd %%ymm15, %[c21], %[c21]\n"
      "vpbroadcastd 60(%[a]), %%ymm14\n"
      "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n"
      "vpaddd %%ymm15, %[c30], %[c30]\n"
      "vpmaddwd %%ymm13, %%ymm14, %%ymm15\n"
      "vpaddd %%ymm15, %[c31], %[c31]\n"
      "vpbroadcastd 76(%[a]), %%ymm14\n"
      "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n"
      "vpaddd %%ymm15, %[c40], %[c40]\n"
      "vpmaddwd %%ymm13, %%ymm14, %%ymm15\n"
      "vpaddd %%ymm15, %[c41], %[c41]\n"
      "vpbroadcastd 92(%[a]), %%ymm14\n"
      "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n"
      "vpaddd %%ymm15, %[c50], %[c50]\n"
      "vpmaddwd %%ymm13, %%ymm14, %%ymm15\n"
      "vpaddd %%ymm15, %[c51], %[c51]\n"
      "add $96, %[a]\n"
      "add $128, %[b]\n"
      "dec %[n]\n"
      "jnz 1b\n"
      : [c00] "+x"(acc[0][0]), [c01] "+x"(acc[0][1]), [c10] "+x"(acc[1][0]), [c11] "+x"(acc[1][1]), [c20] "+x"(acc[2][0]), [c21] "+x"(acc[2][1]), [c30] "+x"(acc[3][0]), [c31] "+x"(acc[3][1]), [c40] "+x"(acc[4][0]), [c41] "+x"(acc[4][1]), [c50] "+x"(acc[5][0]), [c51] "+x"(acc[5][1]),
        [a] "+r"(a), [b] "+r"(b), [n] "+r"(blocks)
      : 
      : "xmm12", "xmm13", "xmm14", "xmm15", "memory", "cc");
}

__attribute__((always_inline)) inline void AccumulateNarrow6(
    const TileArgs& t, __m256i (&acc)[6][2]) {
  for (int i = 0; i < 6; ++i) {
    acc[i][0] = _mm256_setzero_si256();
    acc[i][1] = _mm256_setzero_si256();
  }
  size_t blocks = t.k_padded / kKR;
  if (blocks == 0) return;
  const auto* a = static_cast<const uint8_t*>(t.a_panel);
  const auto* b = static_cast<const uint8_t*>(t.b_panel);
  asm volatile(
      "vpcmpeqw %%ymm13, %%ymm13, %%ymm13\n"
      "vpsrlw $15, %%ymm13, %%ymm13\n"  // int16 ones
      "1:\n"
      "vpbroadcastd 0(%[a]), %%ymm14\n"
      "vpmaddubsw 0(%[b]), %%ymm14, %%ymm15\n"
      "vpmaddwd %%ymm13, %%ymm15, %%ymm15\n"
      "vpaddd %%ymm15, %[c00], %[c00]\n"
      "vpmaddubsw 32(%[b]), %%ymm14, %%ymm15\n"
      "vpmaddwd %%ymm13, %%ymm15, %%ymm15\n"
      "vpaddd %%ymm15, %[c01], %[c01]\n"
      "vpbroadcastd 8(%[a]), %%ymm14\n"
      "vpmaddubsw 0(%[b]), %%ymm14, %%ymm15\n"
      "vpmaddwd %%ymm13, %%ymm15, %%ymm15\n"
      "vpaddd %%ymm15, %[c10], %[c10]\n"
      "vpmaddubsw 32(%[b]), %%ymm14, %%ymm15\n"
      "vpmaddwd %%ymm13, %%ymm15, %%ymm15\n"
      "vpaddd %%ymm15, %[c11], %[c11]\n"
      "vpbroadcastd 16(%[a]), %%ymm14\n"
      "vpmaddubsw 0(%[b]), %%ymm14, %%ymm15\n"
      "vpmaddwd %%ymm13, %%ymm15, %%ymm15\n"
      "vpaddd %%ymm15, %[c20], %[c20]\n"
      "vpmaddubsw 32(%[b]), %%ymm14, %%ymm15\n"
      "vpmaddwd %%ymm13, %%ymm15, %%ymm15\n"
      "vpaddd %%ymm15, %[c21], %[c21]\n"
      "vpbroadcastd 24(%[a]), %%ymm14\n"
      "vpmaddubsw 0(%[b]), %%ymm14, %%ymm15\n"
      "vpmaddwd %%ymm13, %%ymm15, %%ymm15\n"
      "vpaddd %%ymm15, %[c30], %[c30]\n"
      "vpmaddubsw 32(%[b]), %%ymm14, %%ymm15\n"
      "vpmaddwd %%ymm13, %%ymm15, %%ymm15\n"
      "vpaddd %%ymm15, %[c31], %[c31]\n"
      "vpbroadcastd 32(%[a]), %%ymm14\n"
      "vpmaddubsw 0(%[b]), %%ymm14, %%ymm15\n"
      "vpmaddwd %%ymm13, %%ymm15, %%ymm15\n"
      "vpaddd %%ymm15, %[c40], %[c40]\n"
      "vpmaddubsw 32(%[b]), %%ymm14, %%ymm15\n"
      "vpmaddwd %%ymm13, %%ymm15, %%ymm15\n"
      "vpaddd %%ymm15, %[c41], %[c41]\n"
      "vpbroadcastd 40(%[a]), %%ymm14\n"
      "vpmaddubsw 0(%[b]), %%ymm14, %%ymm15\n"
      "vpmaddwd %%ymm13, %%ymm15, %%ymm15\n"
      "vpaddd %%ymm15, %[c50], %[c50]\n"
      "vpmaddubsw 32(%[b]), %%ymm14, %%ymm15\n"
      "vpmaddwd %%ymm13, %%ymm15, %%ymm15\n"
      "vpaddd %%ymm15, %[c51], %[c51]\n"
      "vpbroadcastd 4(%[a]), %%ymm14\n"
      "vpmaddubsw 64(%[b]), %%ymm14, %%ymm15\n"
      "vpmaddwd %%ymm13, %%ymm15, %%ymm15\n"
      "vpaddd %%ymm15, %[c00], %[c00]\n"
      "vpmaddubsw 96(%[b]), %%ymm14, %%ymm15\n"
      "vpmaddwd %%ymm13, %%ymm15, %%ymm15\n"
      "vpaddd %%ymm15, %[c01], %[c01]\n"
      "vpbroadcastd 12(%[a]), %%ymm14\n"
      "vpmaddubsw 64(%[b]), %%ymm14, %%ymm15\n"
      "vpmaddwd %%ymm13, %%ymm15, %%ymm15\n"
      "vpaddd %%ymm15, %[c10], %[c10]\n"
      "vpmaddubsw 96(%[b]), %%ymm14, %%ymm15\n"
      "vpmaddwd %%ymm13, %%ymm15, %%ymm15\n"
      "vpaddd %%ymm15, %[c11], %[c11]\n"
      "vpbroadcastd 20(%[a]), %%ymm14\n"
      "vpmaddubsw 64(%[b]), %%ymm14, %%ymm15\n"
      "vpmaddwd %%ymm13, %%ymm15, %%ymm15\n"
      "vpaddd %%ymm15, %[c20], %[c20]\n"
      "vpmaddubsw 96(%[b]), %%ymm14, %%ymm15\n"
      "vpmaddwd %%ymm13, %%ymm15, %%ymm15\n"
      "vpaddd %%ymm15, %[c21], %[c21]\n"
      "vpbroadcastd 28(%[a]), %%ymm14\n"
      "vpmaddubsw 64(%[b]), %%ymm14, %%ymm15\n"
      "vpmaddwd %%ymm13, %%ymm15, %%ymm15\n"
      "vpaddd %%ymm15, %[c30], %[c30]\n"
      "vpmaddubsw 96(%[b]), %%ymm14, %%ymm15\n"
      "vpmaddwd %%ymm13, %%ymm15, %%ymm15\n"
      "vpaddd %%ymm15, %[c31], %[c31]\n"
      "vpbroadcastd 36(%[a]), %%ymm14\n"
      "vpmaddubsw 64(%[b]), %%ymm14, %%ymm15\n"
      "vpmaddwd %%ymm13, %%ymm15, %%ymm15\n"
      "vpaddd %%ymm15, %[c40], %[c40]\n"
      "vpmaddubsw 96(%[b]), %%ymm14, %%ymm15\n"
      "vpmaddwd %%ymm13, %%ymm15, %%ymm15\n"
      "vpaddd %%ymm15, %[c41], %[c41]\n"
      "vpbroadcastd 44(%[a]), %%ymm14\n"
      "vpmaddubsw 64(%[b]), %%ymm14, %%ymm15\n"
      "vpmaddwd %%ymm13, %%ymm15, %%ymm15\n"
      "vpaddd %%ymm15, %[c50], %[c50]\n"
      "vpmaddubsw 96(%[b]), %%ymm14, %%ymm15\n"
      "vpmaddwd %%ymm13, %%ymm15, %%ymm15\n"
      "vpaddd %%ymm15, %[c51], %[c51]\n"
      "add $48, %[a]\n"
      "add $128, %[b]\n"
      "dec %[n]\n"
      "jnz 1b\n"
      : [c00] "+x"(acc[0][0]), [c01] "+x"(acc[0][1]), [c10] "+x"(acc[1][0]), [c11] "+x"(acc[1][1]), [c20] "+x"(acc[2][0]), [c21] "+x"(acc[2][1]), [c30] "+x"(acc[3][0]), [c31] "+x"(acc[3][1]), [c40] "+x"(acc[4][0]), [c41] "+x"(acc[4][1]), [c50] "+x"(acc[5][0]), [c51] "+x"(acc[5][1]),
        [a] "+r"(a), [b] "+r"(b), [n] "+r"(blocks)
      :
      : "xmm13", "xmm14", "xmm15", "memory", "cc");
}

template <int kRows, bool kNarrow>
__attribute__((always_inline)) inline void Accumulate(
    const TileArgs& t, __m256i (&acc)[kRows][2]) {
  if constexpr (kRows == 6) {
    if (kNarrow) {
      AccumulateNarrow6(t, acc);
    } else {
      AccumulateExact6(t, acc);
    }
  } else if (kNarrow) {
    AccumulateNarrow<kRows>(t, acc);
  } else {
    AccumulateExact<kRows>(t, acc);
  }
}

// Output-stage constants of 8 columns.
struct Columns8 {
  __m256i offset;     // col_offset
  __m256i mult_even;  // M0 (vpmuldq reads the even lanes)
  __m256i mult_odd;   // M0 of the odd lanes, moved to the even lanes
  __m256i mult_min;   // all ones where M0 == INT32_MIN
  __m256i left;       // left shift
  __m256i right;      // right shift
  __m256i rem_mask;   // 2^right - 1
  __m256i half_mask;  // (2^right - 1) >> 1
};

Columns8 LoadColumns8(const TileColumns& c, size_t j) {
  Columns8 s;
  const auto load = [j](const int32_t* p) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + j));
  };
  s.offset = load(c.col_offset);
  s.mult_even = load(c.multiplier);
  s.mult_odd = _mm256_srli_epi64(s.mult_even, 32);
  s.mult_min = _mm256_cmpeq_epi32(s.mult_even, _mm256_set1_epi32(INT32_MIN));
  s.left = load(c.left_shift);
  s.right = load(c.right_shift);
  s.rem_mask = _mm256_sub_epi32(
      _mm256_sllv_epi32(_mm256_set1_epi32(1), s.right), _mm256_set1_epi32(1));
  s.half_mask = _mm256_srli_epi32(s.rem_mask, 1);
  return s;
}

struct Clamp8 {
  __m256i lo, hi, zero_point;
};

// DESIGN.md's output stage on 8 lanes; x already holds the int32 sum with
// the row and column offsets. any_left / any_min_mult: tile-wide flags that
// skip steps which are the identity for every lane.
__attribute__((always_inline)) inline __m256i Requantize8(
    __m256i x, const Columns8& c, const Clamp8& clamp, bool any_left,
    bool any_min_mult) {
  if (any_left) {
    const __m256i shifted = _mm256_sllv_epi32(x, c.left);
    const __m256i fits =
        _mm256_cmpeq_epi32(_mm256_srav_epi32(shifted, c.left), x);
    // x < 0 ? INT32_MIN : INT32_MAX
    const __m256i saturated =
        _mm256_xor_si256(_mm256_srai_epi32(x, 31), _mm256_set1_epi32(INT32_MAX));
    x = _mm256_blendv_epi8(saturated, shifted, fits);
  }
  // SaturatingRoundingDoublingHighMul.
  const __m256i nudge = _mm256_set1_epi64x(int64_t{1} << 30);
  const __m256i even = _mm256_srli_epi64(
      _mm256_add_epi64(_mm256_mul_epi32(x, c.mult_even), nudge), 31);
  const __m256i odd = _mm256_slli_epi64(
      _mm256_add_epi64(
          _mm256_mul_epi32(_mm256_srli_epi64(x, 32), c.mult_odd), nudge),
      1);
  __m256i y = _mm256_blend_epi32(even, odd, 0xAA);
  if (any_min_mult) {
    const __m256i both_min = _mm256_and_si256(
        c.mult_min, _mm256_cmpeq_epi32(x, _mm256_set1_epi32(INT32_MIN)));
    y = _mm256_xor_si256(y, both_min);  // INT32_MIN -> INT32_MAX
  }
  // RoundingDivideByPOT.
  const __m256i rem = _mm256_and_si256(y, c.rem_mask);
  const __m256i threshold =
      _mm256_sub_epi32(c.half_mask, _mm256_srai_epi32(y, 31));
  y = _mm256_sub_epi32(_mm256_srav_epi32(y, c.right),
                       _mm256_cmpgt_epi32(rem, threshold));
  // Clamp, then add the zero point (exact: the clamped value is small).
  y = _mm256_min_epi32(_mm256_max_epi32(y, clamp.lo), clamp.hi);
  return _mm256_add_epi32(y, clamp.zero_point);
}

// Stores the first n (< 16 or 16) bytes of v.
void StoreRowU8(uint8_t* dst, __m128i v, size_t n) {
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

template <int kRows, bool kNarrow>
void GemmU8Tile(const TileArgs* args) {
  const TileArgs& t = *args;
  __m256i acc[kRows][2];
  Accumulate<kRows, kNarrow>(t, acc);

  const Columns8 c0 = LoadColumns8(t.cols, 0), c1 = LoadColumns8(t.cols, 8);
  const __m256i left_any = _mm256_or_si256(c0.left, c1.left);
  const __m256i min_any = _mm256_or_si256(c0.mult_min, c1.mult_min);
  const bool any_left = !_mm256_testz_si256(left_any, left_any);
  const bool any_min_mult = !_mm256_testz_si256(min_any, min_any);
  const int32_t zc = t.clamp->c_zero_point;
  const Clamp8 clamp = {_mm256_set1_epi32(t.clamp->c_min - zc),
                        _mm256_set1_epi32(t.clamp->c_max - zc),
                        _mm256_set1_epi32(zc)};
  // vpackssdw/vpackuswb interleave 128-bit lanes; this puts row i's 16
  // bytes in the low half and row i+1's in the high half.
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  auto* c = static_cast<uint8_t*>(t.c);

#pragma GCC unroll 3
  for (int i = 0; i < kRows; i += 2) {
    const int i1 = i + 1 < kRows ? i + 1 : i;
    const __m256i r0 = _mm256_set1_epi32(t.row_offset[i]);
    const __m256i r1 = _mm256_set1_epi32(t.row_offset[i1]);
    const auto out = [&](__m256i a, __m256i r, const Columns8& cs) {
      return Requantize8(_mm256_add_epi32(_mm256_add_epi32(a, r), cs.offset),
                         cs, clamp, any_left, any_min_mult);
    };
    const __m256i w0 = _mm256_packs_epi32(out(acc[i][0], r0, c0),
                                          out(acc[i][1], r0, c1));
    const __m256i w1 = i1 != i ? _mm256_packs_epi32(out(acc[i1][0], r1, c0),
                                                    out(acc[i1][1], r1, c1))
                               : w0;
    const __m256i bytes =
        _mm256_permutevar8x32_epi32(_mm256_packus_epi16(w0, w1), order);
    StoreRowU8(c + i * t.ldc, _mm256_castsi256_si128(bytes), t.n_eff);
    if (i1 != i) {
      StoreRowU8(c + i1 * t.ldc, _mm256_extracti128_si256(bytes, 1), t.n_eff);
    }
  }
}

template <int kRows, bool kNarrow>
void GemmS32Tile(const TileArgs* args) {
  const TileArgs& t = *args;
  __m256i acc[kRows][2];
  Accumulate<kRows, kNarrow>(t, acc);

  const __m256i off0 = _mm256_loadu_si256(
      reinterpret_cast<const __m256i*>(t.cols.col_offset));
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
    const __m256i v0 = _mm256_add_epi32(_mm256_add_epi32(acc[i][0], r), off0);
    const __m256i v1 = _mm256_add_epi32(_mm256_add_epi32(acc[i][1], r), off1);
    int32_t* row = c + i * t.ldc;
    if (t.n_eff >= kNR) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(row), v0);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(row + 8), v1);
    } else {
      _mm256_maskstore_epi32(row, mask0, v0);
      _mm256_maskstore_epi32(row + 8, mask1, v1);
    }
  }
}

// Rows are a compile-time constant of each instantiation: a partial tile
// computes only its m_eff rows.
template <bool kNarrow>
void GemmU8(const TileArgs* t) {
  switch (t->m_eff) {
    case 1: return GemmU8Tile<1, kNarrow>(t);
    case 2: return GemmU8Tile<2, kNarrow>(t);
    case 3: return GemmU8Tile<3, kNarrow>(t);
    case 4: return GemmU8Tile<4, kNarrow>(t);
    case 5: return GemmU8Tile<5, kNarrow>(t);
    default: return GemmU8Tile<6, kNarrow>(t);
  }
}

template <bool kNarrow>
void GemmS32(const TileArgs* t) {
  switch (t->m_eff) {
    case 1: return GemmS32Tile<1, kNarrow>(t);
    case 2: return GemmS32Tile<2, kNarrow>(t);
    case 3: return GemmS32Tile<3, kNarrow>(t);
    case 4: return GemmS32Tile<4, kNarrow>(t);
    case 5: return GemmS32Tile<5, kNarrow>(t);
    default: return GemmS32Tile<6, kNarrow>(t);
  }
}

}  // namespace

extern const KernelTable kAvx2Table;
const KernelTable kAvx2Table = {
    "avx2",
    /*packing_format=*/0xA5206001u,
    kMR,
    kNR,
    kKR,
    avx2::APanelBytes,
    avx2::BPanelBytes,
    avx2::ChooseVariant,
    avx2::PackAPanel,
    avx2::PackBPanel,
    /*b_packed_offset=*/{0, 128},
    {GemmU8<false>, GemmU8<true>},
    {GemmS32<false>, GemmS32<true>},
};

}  // namespace qgemm

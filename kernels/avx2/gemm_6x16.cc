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
// Output stage (docs/design.md, "Output stage"), 8 columns per ymm,
// per-column parameters:
//   x = acc + row_offset[i] + col_offset[j]                    (vpaddd, wraps)
//   saturating x * 2^left: vpsllvd, and where vpsravd does not give x back
//     the product left int32, so x = x < 0 ? INT32_MIN : INT32_MAX
//   SRDHM(x, M0) = floor((x*M0 + 2^30) / 2^31), which equals gemmlowp's
//     truncating form with its sign-dependent nudge (ties toward +inf);
//     x*M0 in 64 bits with vpmuldq on even and (shifted) odd lanes; bits
//     31..62 of the sum are the int32 result (a logical shift suffices as
//     the result fits int32: M0 >= 0, which the API guarantees, rules out
//     SRDHM's one overflow, INT32_MIN * INT32_MIN)
//   RDBPOT(x, right): (x >>a right) + (x & mask > (mask >> 1) + (x < 0)),
//     mask = 2^right - 1, per lane (vpsravd)
//   + zc and clamp on the narrowed values: vpackssdw, vpaddsw zc, vpackuswb,
//     vpmaxub c_min, vpminub c_max (exact: see StoreU8).
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

// Fills acc[0..5][0..1] with the tile's sum over the whole depth; rows
// >= kRows are zero.
template <int kRows, bool kNarrow>
__attribute__((always_inline)) inline void Accumulate(const TileArgs& t,
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
}

// Constants of the output stage, read as memory operands (kept in registers
// they would compete with the 12 accumulators; GCC rematerializes them).
alignas(32) constexpr int64_t kNudge[4] = {int64_t{1} << 30, int64_t{1} << 30,
                                           int64_t{1} << 30, int64_t{1} << 30};
alignas(32) constexpr int32_t kInt32Max[8] = {INT32_MAX, INT32_MAX, INT32_MAX,
                                              INT32_MAX, INT32_MAX, INT32_MAX,
                                              INT32_MAX, INT32_MAX};

__m256i Constant(const void* p) {
  return _mm256_load_si256(static_cast<const __m256i*>(p));
}

// Output-stage constants of 8 columns.
struct Columns8 {
  __m256i offset;     // col_offset
  __m256i mult_even;  // M0 (vpmuldq reads the even lanes)
  __m256i mult_odd;   // M0 of the odd lanes, moved to the even lanes
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
  s.left = load(c.left_shift);
  s.right = load(c.right_shift);
  s.rem_mask = _mm256_sub_epi32(
      _mm256_sllv_epi32(_mm256_set1_epi32(1), s.right), _mm256_set1_epi32(1));
  s.half_mask = _mm256_srli_epi32(s.rem_mask, 1);
  return s;
}

// The output stage (docs/design.md) on 8 lanes up to the zero point and
// clamp (done on the packed bytes, see GemmU8Tile); x already holds the int32
// sum with the row and column offsets. kLeftShift = false skips the saturating
// left shift, the identity when no column of the tile has one (the tile
// checks).
template <bool kLeftShift>
__attribute__((always_inline)) inline __m256i Requantize8(__m256i x,
                                                          const Columns8& c) {
  if (kLeftShift) {
    const __m256i shifted = _mm256_sllv_epi32(x, c.left);
    const __m256i fits =
        _mm256_cmpeq_epi32(_mm256_srav_epi32(shifted, c.left), x);
    // x < 0 ? INT32_MIN : INT32_MAX
    const __m256i saturated =
        _mm256_xor_si256(_mm256_srai_epi32(x, 31), Constant(kInt32Max));
    x = _mm256_blendv_epi8(saturated, shifted, fits);
  }
  // SaturatingRoundingDoublingHighMul; M0 >= 0, so it never saturates.
  const __m256i even = _mm256_srli_epi64(
      _mm256_add_epi64(_mm256_mul_epi32(x, c.mult_even), Constant(kNudge)), 31);
  const __m256i odd = _mm256_slli_epi64(
      _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(x, 32), c.mult_odd),
                       Constant(kNudge)),
      1);
  const __m256i y = _mm256_blend_epi32(even, odd, 0xAA);
  // RoundingDivideByPOT.
  const __m256i rem = _mm256_and_si256(y, c.rem_mask);
  const __m256i threshold =
      _mm256_sub_epi32(c.half_mask, _mm256_srai_epi32(y, 31));
  return _mm256_sub_epi32(_mm256_srav_epi32(y, c.right),
                          _mm256_cmpgt_epi32(rem, threshold));
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

// Requantizes the first kRows rows of the tile and stores m_eff x n_eff.
template <int kRows, bool kLeftShift>
__attribute__((always_inline)) inline void StoreU8(const TileArgs& t,
                                                   const Columns8& c0,
                                                   const Columns8& c1,
                                                   const __m256i (&acc)[6][2]) {
  // y = clamp(x + zc, c_min, c_max) through saturating steps: vpackssdw
  // (int16), vpaddsw zc, vpackuswb (uint8), then vpmaxub/vpminub. Each step
  // is monotone, and wherever vpackssdw or vpaddsw saturates, x + zc is
  // already below 0 or above 255 (0 <= zc <= 255), where vpackuswb then
  // gives 0 or 255 as clamp(x + zc, 0, 255) does. So the uint8 equals
  // clamp(x + zc, 0, 255), and clamping it to [c_min, c_max], a sub-range,
  // gives clamp(x + zc, c_min, c_max) exactly.
  const __m256i zc =
      _mm256_set1_epi16(static_cast<int16_t>(t.clamp->c_zero_point));
  const __m256i c_min = _mm256_set1_epi8(static_cast<char>(t.clamp->c_min));
  const __m256i c_max = _mm256_set1_epi8(static_cast<char>(t.clamp->c_max));
  // vpackssdw/vpackuswb interleave 128-bit lanes; this puts row i's 16
  // bytes in the low half and row i+1's in the high half.
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  auto* c = static_cast<uint8_t*>(t.c);

#pragma GCC unroll 3
  for (int i = 0; i < kRows; i += 2) {
    const int i1 = i + 1 < kRows ? i + 1 : i;
    const __m256i r0 = _mm256_set1_epi32(t.row_offset[i]);
    const __m256i r1 = _mm256_set1_epi32(t.row_offset[i1]);
    const auto out = [&](__m256i a, __m256i r, const Columns8& cs)
        __attribute__((always_inline)) {
      return Requantize8<kLeftShift>(
          _mm256_add_epi32(_mm256_add_epi32(a, r), cs.offset), cs);
    };
    const __m256i w0 = _mm256_adds_epi16(
        _mm256_packs_epi32(out(acc[i][0], r0, c0), out(acc[i][1], r0, c1)), zc);
    const __m256i w1 =
        i1 != i ? _mm256_adds_epi16(_mm256_packs_epi32(out(acc[i1][0], r1, c0),
                                                       out(acc[i1][1], r1, c1)),
                                    zc)
                : w0;
    const __m256i clamped = _mm256_min_epu8(
        _mm256_max_epu8(_mm256_packus_epi16(w0, w1), c_min), c_max);
    const __m256i bytes = _mm256_permutevar8x32_epi32(clamped, order);
    StoreRowU8(c + i * t.ldc, _mm256_castsi256_si128(bytes), t.n_eff);
    if (i1 != i) {
      StoreRowU8(c + i1 * t.ldc, _mm256_extracti128_si256(bytes, 1), t.n_eff);
    }
  }
}

template <int kRows, bool kNarrow>
void GemmU8Tile(const TileArgs* args) {
  const TileArgs& t = *args;
  __m256i acc[6][2];
  Accumulate<kRows, kNarrow>(t, acc);
  const Columns8 c0 = LoadColumns8(t.cols, 0), c1 = LoadColumns8(t.cols, 8);
  const __m256i left_any = _mm256_or_si256(c0.left, c1.left);
  if (_mm256_testz_si256(left_any, left_any)) {
    StoreU8<kRows, false>(t, c0, c1, acc);
  } else {
    StoreU8<kRows, true>(t, c0, c1, acc);
  }
}

template <int kRows, bool kNarrow>
void GemmS32Tile(const TileArgs* args) {
  const TileArgs& t = *args;
  __m256i acc[6][2];
  Accumulate<kRows, kNarrow>(t, acc);

  const __m256i off0 =
      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.cols.col_offset));
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
    case 1:
      return GemmU8Tile<1, kNarrow>(t);
    case 2:
      return GemmU8Tile<2, kNarrow>(t);
    case 3:
      return GemmU8Tile<3, kNarrow>(t);
    case 4:
      return GemmU8Tile<4, kNarrow>(t);
    case 5:
      return GemmU8Tile<5, kNarrow>(t);
    default:
      return GemmU8Tile<6, kNarrow>(t);
  }
}

template <bool kNarrow>
void GemmS32(const TileArgs* t) {
  switch (t->m_eff) {
    case 1:
      return GemmS32Tile<1, kNarrow>(t);
    case 2:
      return GemmS32Tile<2, kNarrow>(t);
    case 3:
      return GemmS32Tile<3, kNarrow>(t);
    case 4:
      return GemmS32Tile<4, kNarrow>(t);
    case 5:
      return GemmS32Tile<5, kNarrow>(t);
    default:
      return GemmS32Tile<6, kNarrow>(t);
  }
}

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
    {GemmU8<false>, GemmU8<true>},
    {GemmS32<false>, GemmS32<true>},
    DotRowsKN,
};
}  // namespace avx2

}  // namespace qgemm

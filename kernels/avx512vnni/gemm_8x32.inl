// AVX-512 VNNI 8x32 micro-kernel, its packing and its 512-bit output stage.
//
// This body is written once and compiled twice:
//   kernels/avx512vnni/gemm_8x32.cc   natively (-mavx512f -mavx512bw
//                                     -mavx512dq -mavx512vl -mavx512vnni)
//   tests/emulated/avx512vnni_simde.cc  against SIMDe's emulation of the same
//                                     intrinsics, so it runs on any AVX2 CPU
// The includer provides the intrinsics (<immintrin.h>, or SIMDe with native
// aliases) and defines
//   QGEMM_AVX512VNNI_NAMESPACE the namespace of the KernelTable kTable it
//                              defines
//   QGEMM_AVX512VNNI_ISA_NAME  its isa string
// Everything else lives in an anonymous namespace, so the two builds never
// share a symbol (docs/design.md, "Building per-ISA code").
//
// Register tile (16 zmm accumulators, 2 B vectors, 1 broadcast A quad):
//
//                      B k-group g: 32 columns x 4 depths, int8
//                  +--------------------+--------------------+
//                  | b0: cols 0..15     | b1: cols 16..31    |  2 x 64 B loads
//                  +--------------------+--------------------+
//   A row 0 quad --> acc[0][0]            acc[0][1]
//   A row 1 quad --> acc[1][0]            acc[1][1]
//     ...   (vpbroadcastd of 4 A bytes)
//   A row 7 quad --> acc[7][0]            acc[7][1]
//
//   acc[i][v] lane l (int32) = column 16v + l of row i.
//   One step: VPDPBUSD acc[i][v], bcast(a[i][4g..4g+3]), b_v
//             adds sum_{q<4} a[i][4g+q] (u8) * b'[4g+q][16v+l] (s8) per lane.
//   Per k-group: 2 B loads + 8 broadcast loads feed 16 VPDPBUSD.
//
// Packed layout (KR = 4, k_padded = K rounded up to 4):
//   A panel: group g = 32 bytes, row i's quad a[i][4g..4g+3] at 32g + 4i.
//   B panel: group g = 128 bytes, column j's quad b'[4g..4g+3][j] at
//            128g + 4j, with b' = b XOR 0x80 read as int8, i.e. b - 128.
//   Depth padding is zero in A (and b = 0 in B); rows of A past m_eff are
//   zero; columns of B past n_eff hold b = 0. Row and column sums are of the
//   ORIGINAL uint8 values (zero for padding).
//
// Why the result is exact (all equalities modulo 2^32, the ring the int32
// accumulator wraps in, docs/design.md "Accumulation"):
//  1. b XOR 0x80, read as int8, equals b - 128 for every b in [0, 255]
//     (flipping the top bit subtracts 128 from the unsigned value and the
//     result lies in [-128, 127], where int8 reads it unchanged). So the
//     packed B holds b' = b - ob with ob = b_packed_offset = 128.
//  2. VPDPBUSD multiplies each u8 a by an s8 b', sums 4 products in a wide
//     intermediate (|sum| <= 4 * 255 * 128 < 2^31) and adds that sum to the
//     int32 lane with wrap-around, no saturation (the "S" variant VPDPBUSDS
//     would saturate; it is not used). So after the loop
//       acc[i][j] = sum_k a[i][k] * b'[k][j]   (mod 2^32).
//  3. Depth padding: a = 0 there, so its products are 0 whatever b' is.
//     Rows and columns past m_eff / n_eff are computed but never stored.
//  4. The driver supplies row_offset[i] = (ob - zb) * rowsum(A_i) and
//     col_offset[j] = bias[j] - za * colsum(B_j) + K * za * zb, and
//       sum_k (a - za)(b - zb)
//         = sum a b - zb rowsum(A) - za colsum(B) + K za zb
//         = sum a b' + ob rowsum(A) - zb rowsum(A) - za colsum(B) + K za zb
//         = acc + row_offset + col_offset,
//     which is what dispatch/kernel_table.h states; vpaddd wraps, as the
//     reference does.
//
// The output stage follows docs/design.md step by step on 16 int32 lanes (one
// row, 16 columns, per-lane parameters from TileColumns); each step's
// argument is in RequantizeRow16 below.
//
// Edges: a tile with m_eff rows runs a kernel instantiated for exactly
// m_eff rows, and one with n_eff <= 16 touches only the first B vector. C is
// written with masked stores of exactly n_eff bytes (or int32s) per row;
// masked-off bytes are neither read nor written (nor can they fault).

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "dispatch/kernel_table.h"

namespace qgemm {
namespace {

constexpr size_t kMR = 8;
constexpr size_t kNR = 32;
constexpr size_t kKR = 4;
constexpr size_t kAGroupBytes = kMR * kKR;  // 32
constexpr size_t kBGroupBytes = kNR * kKR;  // 128
constexpr int32_t kBPackedOffset = 128;

size_t APanelBytes(size_t k_padded) { return kMR * k_padded; }
size_t BPanelBytes(size_t k_padded) { return kNR * k_padded; }

// ---- Packing --------------------------------------------------------------

// Sixteen k-groups at a time: the 8 rows' next 64 bytes (masked at the end
// of the row: nothing past the caller's A is read) are summed with VPDPBUSD
// against ones (exact row sums of the original bytes) and transposed as an
// 8 x 16 matrix of quads, so that each group's 8 quads are one 32-byte store.
void PackA(uint32_t /*variant*/, size_t k, size_t m_eff, const uint8_t* a,
           size_t lda, void* panel_v, int32_t* row_sums) {
  auto* panel = static_cast<uint8_t*>(panel_v);
  const size_t groups = (k + kKR - 1) / kKR;
  const __m512i ones = _mm512_set1_epi8(1);
  // 64-bit lanes of two sources: lane 0 and 1 of each, then 2 and 3 (lo);
  // likewise 2 and 3 of each, then ... (hi). See the transpose below.
  const __m512i pick_lo = _mm512_setr_epi64(0, 1, 8, 9, 2, 3, 10, 11);
  const __m512i pick_hi = _mm512_setr_epi64(4, 5, 12, 13, 6, 7, 14, 15);
  __m512i sum[kMR];
  for (size_t i = 0; i < kMR; ++i) sum[i] = _mm512_setzero_si512();
  // The driver packs panels one after another, and A streams from memory
  // once per block (the packed copy is what stays in cache): fetch the next
  // panel's rows while this one is packed, one line per row and step (a
  // panel is too short for the hardware prefetcher to ramp up on 8 new
  // streams). Prefetches never fault; the address is an integer, since past
  // A's last row a pointer may not even be formed.
  const uintptr_t next = reinterpret_cast<uintptr_t>(a) + kMR * lda;
  for (size_t g0 = 0; g0 < groups; g0 += 16) {
    const size_t bytes = k - kKR * g0 < 64 ? k - kKR * g0 : 64;
    const __mmask64 byte_mask =
        bytes == 64 ? ~__mmask64{0} : (__mmask64{1} << bytes) - 1;
    for (size_t i = 0; i < kMR; ++i) {
      // NOLINTNEXTLINE(performance-no-int-to-ptr)
      _mm_prefetch(reinterpret_cast<const char*>(next + i * lda + kKR * g0),
                   _MM_HINT_T0);
    }
    __m512i r[kMR];
    for (size_t i = 0; i < kMR; ++i) {
      r[i] = i < m_eff
                 ? _mm512_maskz_loadu_epi8(byte_mask, a + i * lda + kKR * g0)
                 : _mm512_setzero_si512();
      sum[i] = _mm512_dpbusd_epi32(sum[i], r[i], ones);
    }
    // Within each 128-bit lane L (quads 4L..4L+3 of every row):
    //   t: rows (0,1), (2,3), (4,5), (6,7) interleaved by quad;
    //   u[j]: quad 4L+j of rows 0..3, u[4+j]: of rows 4..7.
    __m512i t[kMR], u[kMR];
    for (size_t i = 0; i < kMR; i += 2) {
      t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
      t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
    }
    for (size_t h = 0; h < kMR; h += 4) {
      u[h + 0] = _mm512_unpacklo_epi64(t[h + 0], t[h + 2]);
      u[h + 1] = _mm512_unpackhi_epi64(t[h + 0], t[h + 2]);
      u[h + 2] = _mm512_unpacklo_epi64(t[h + 1], t[h + 3]);
      u[h + 3] = _mm512_unpackhi_epi64(t[h + 1], t[h + 3]);
    }
    // Group 4L + j = lane L of u[j] then lane L of u[4 + j]: 32 bytes.
    for (size_t j = 0; j < 4; ++j) {
      const __m512i lo = _mm512_permutex2var_epi64(u[j], pick_lo, u[4 + j]);
      const __m512i hi = _mm512_permutex2var_epi64(u[j], pick_hi, u[4 + j]);
      const __m256i group[4] = {
          _mm512_castsi512_si256(lo), _mm512_extracti64x4_epi64(lo, 1),
          _mm512_castsi512_si256(hi), _mm512_extracti64x4_epi64(hi, 1)};
      for (size_t l = 0; l < 4; ++l) {
        const size_t g = g0 + 4 * l + j;
        if (g < groups) {
          _mm256_storeu_si256(
              reinterpret_cast<__m256i*>(panel + g * kAGroupBytes), group[l]);
        }
      }
    }
  }
  // Row totals: a transpose-and-add tree over the 8 vectors of partial sums
  // (vpaddd wraps like the uint32 sums it replaces). After the two unpack
  // levels, 32-bit lane 4L + i of q0 / q1 holds part L of row i / 4 + i.
  __m512i p[4];
  for (size_t i = 0; i < kMR; i += 2) {
    p[i / 2] = _mm512_add_epi32(_mm512_unpacklo_epi32(sum[i], sum[i + 1]),
                                _mm512_unpackhi_epi32(sum[i], sum[i + 1]));
  }
  const __m512i q0 = _mm512_add_epi32(_mm512_unpacklo_epi64(p[0], p[1]),
                                      _mm512_unpackhi_epi64(p[0], p[1]));
  const __m512i q1 = _mm512_add_epi32(_mm512_unpacklo_epi64(p[2], p[3]),
                                      _mm512_unpackhi_epi64(p[2], p[3]));
  // 128-bit lanes [q0.0, q0.1, q1.0, q1.1] + [q0.2, q0.3, q1.2, q1.3], then
  // each lane plus its neighbour: lane 0 = rows 0..3, lane 2 = rows 4..7.
  __m512i h = _mm512_add_epi32(_mm512_shuffle_i32x4(q0, q1, 0x44),
                               _mm512_shuffle_i32x4(q0, q1, 0xEE));
  h = _mm512_add_epi32(h, _mm512_shuffle_i32x4(h, h, 0xB1));
  const __m256i rows_0_3 = _mm512_castsi512_si256(h);
  const __m256i rows_4_7 = _mm512_extracti64x4_epi64(h, 1);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(row_sums),
                   _mm256_castsi256_si128(rows_0_3));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(row_sums + 4),
                   _mm256_castsi256_si128(rows_4_7));
}

// B is k x n row-major: four depth rows of (up to) 32 columns are loaded with
// byte masks (nothing outside the caller's B is read), interleaved into
// per-column quads, summed with VPDPBUSD against ones (exact column sums of
// the original bytes) and stored flipped to b - 128. One pass over the rows,
// so each cache line of B is read once.
// Row sums alone, for tiles that read A in place (TileArgs::a_stride): the
// same VPDPBUSD against ones as PackA, two chains per row, masked at the
// row's end. The int32 sums wrap exactly as PackA's do.
void SumARows(size_t k, size_t m_eff, const uint8_t* a, size_t lda,
              int32_t* row_sums) {
  const __m512i ones = _mm512_set1_epi8(1);
  for (size_t i = 0; i < kMR; ++i) {
    if (i >= m_eff) {
      row_sums[i] = 0;
      continue;
    }
    const uint8_t* row = a + i * lda;
    __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
    size_t p = 0;
    for (; p + 128 <= k; p += 128) {
      s0 = _mm512_dpbusd_epi32(s0, _mm512_loadu_si512(row + p), ones);
      s1 = _mm512_dpbusd_epi32(s1, _mm512_loadu_si512(row + p + 64), ones);
    }
    for (; p < k; p += 64) {
      const size_t bytes = k - p < 64 ? k - p : 64;
      const __mmask64 mask =
          bytes == 64 ? ~__mmask64{0} : (__mmask64{1} << bytes) - 1;
      s0 =
          _mm512_dpbusd_epi32(s0, _mm512_maskz_loadu_epi8(mask, row + p), ones);
    }
    // 16 lanes to 1 by halving (SIMDe 0.7 has no reduce_add to emulate).
    const __m512i r = _mm512_add_epi32(s0, s1);
    const __m256i h = _mm256_add_epi32(_mm512_castsi512_si256(r),
                                       _mm512_extracti64x4_epi64(r, 1));
    __m128i q = _mm_add_epi32(_mm256_castsi256_si128(h),
                              _mm256_extracti128_si256(h, 1));
    q = _mm_add_epi32(q, _mm_shuffle_epi32(q, 0x4E));
    q = _mm_add_epi32(q, _mm_shuffle_epi32(q, 0xB1));
    row_sums[i] = _mm_cvtsi128_si32(q);
  }
}

void PackBKN(size_t k, size_t n_eff, const uint8_t* b, size_t ldb,
             uint8_t* panel, int32_t* col_sums) {
  const __m256i ones = _mm256_set1_epi8(1);
  const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
  const __mmask32 col_mask =
      static_cast<__mmask32>(n_eff >= 32 ? 0xFFFFFFFFu : (1u << n_eff) - 1u);
  const size_t groups = (k + kKR - 1) / kKR;
  // 128-bit lane l of sum_q / q_q holds columns 16l + 4q .. 16l + 4q + 3.
  __m256i sum0 = _mm256_setzero_si256(), sum1 = _mm256_setzero_si256();
  __m256i sum2 = _mm256_setzero_si256(), sum3 = _mm256_setzero_si256();
  for (size_t g = 0; g < groups; ++g) {
    __m256i r[kKR];
    for (size_t q = 0; q < kKR; ++q) {
      const size_t p = g * kKR + q;
      r[q] = p < k ? _mm256_maskz_loadu_epi8(col_mask, b + p * ldb)
                   : _mm256_setzero_si256();
    }
    // Per 128-bit lane: cols 0..7 (lo) and 8..15 (hi) of the lane.
    const __m256i r01_lo = _mm256_unpacklo_epi8(r[0], r[1]);
    const __m256i r01_hi = _mm256_unpackhi_epi8(r[0], r[1]);
    const __m256i r23_lo = _mm256_unpacklo_epi8(r[2], r[3]);
    const __m256i r23_hi = _mm256_unpackhi_epi8(r[2], r[3]);
    const __m256i q0 = _mm256_unpacklo_epi16(r01_lo, r23_lo);  // 0..3
    const __m256i q1 = _mm256_unpackhi_epi16(r01_lo, r23_lo);  // 4..7
    const __m256i q2 = _mm256_unpacklo_epi16(r01_hi, r23_hi);  // 8..11
    const __m256i q3 = _mm256_unpackhi_epi16(r01_hi, r23_hi);  // 12..15
    sum0 = _mm256_dpbusd_epi32(sum0, q0, ones);
    sum1 = _mm256_dpbusd_epi32(sum1, q1, ones);
    sum2 = _mm256_dpbusd_epi32(sum2, q2, ones);
    sum3 = _mm256_dpbusd_epi32(sum3, q3, ones);
    auto* out = reinterpret_cast<__m256i*>(panel + g * kBGroupBytes);
    _mm256_storeu_si256(
        out + 0,
        _mm256_xor_si256(_mm256_permute2x128_si256(q0, q1, 0x20), flip));
    _mm256_storeu_si256(
        out + 1,
        _mm256_xor_si256(_mm256_permute2x128_si256(q2, q3, 0x20), flip));
    _mm256_storeu_si256(
        out + 2,
        _mm256_xor_si256(_mm256_permute2x128_si256(q0, q1, 0x31), flip));
    _mm256_storeu_si256(
        out + 3,
        _mm256_xor_si256(_mm256_permute2x128_si256(q2, q3, 0x31), flip));
  }
  auto* sums = reinterpret_cast<__m256i*>(col_sums);
  _mm256_storeu_si256(sums + 0, _mm256_permute2x128_si256(sum0, sum1, 0x20));
  _mm256_storeu_si256(sums + 1, _mm256_permute2x128_si256(sum2, sum3, 0x20));
  _mm256_storeu_si256(sums + 2, _mm256_permute2x128_si256(sum0, sum1, 0x31));
  _mm256_storeu_si256(sums + 3, _mm256_permute2x128_si256(sum2, sum3, 0x31));
}

// B is n x k row-major (a row is one column of the math B): a column's
// depth quads are already contiguous, so each is copied with its top bits
// flipped. (Packing weights is a one-off, qgemm_pack_b.)
void PackBNK(size_t k, size_t n_eff, const uint8_t* b, size_t ldb,
             uint8_t* panel, int32_t* col_sums) {
  const size_t full_groups = k / kKR;
  const size_t tail = k % kKR;
  const size_t groups = full_groups + (tail != 0);
  const uint32_t flip = 0x80808080u;
  for (size_t j = 0; j < kNR; ++j) {
    uint8_t* out = panel + kKR * j;
    if (j >= n_eff) {
      for (size_t g = 0; g < groups; ++g) {
        std::memcpy(out + g * kBGroupBytes, &flip, kKR);  // b = 0
      }
      col_sums[j] = 0;
      continue;
    }
    const uint8_t* col = b + j * ldb;
    uint32_t sum = 0;
    for (size_t p = 0; p < k; ++p) sum += col[p];
    for (size_t g = 0; g < full_groups; ++g) {
      uint32_t quad;
      std::memcpy(&quad, col + g * kKR, kKR);
      quad ^= flip;
      std::memcpy(out + g * kBGroupBytes, &quad, kKR);
    }
    if (tail != 0) {
      uint8_t quad[kKR] = {0, 0, 0, 0};
      for (size_t q = 0; q < tail; ++q) quad[q] = col[full_groups * kKR + q];
      for (size_t q = 0; q < kKR; ++q) quad[q] ^= 0x80;
      std::memcpy(out + full_groups * kBGroupBytes, quad, kKR);
    }
    col_sums[j] = static_cast<int32_t>(sum);
  }
}

void PackB(uint32_t /*variant*/, size_t k, size_t n_eff, const uint8_t* b,
           size_t ldb, int nk_layout, void* panel, int32_t* col_sums) {
  if (nk_layout) {
    PackBNK(k, n_eff, b, ldb, static_cast<uint8_t*>(panel), col_sums);
  } else {
    PackBKN(k, n_eff, b, ldb, static_cast<uint8_t*>(panel), col_sums);
  }
}

// ---- The micro-kernel -------------------------------------------------------

// Tiles of at most this many rows take the few-rows accumulation below.
constexpr int kFewRows = 4;

// acc[i][v] += row_offset[i] + col_offset[16v..16v+15] (wrapping).
template <int kRows, int kVecs>
inline void AddTileOffsets(const TileArgs& t, __m512i (&acc)[kRows][kVecs]) {
  static_assert(kRows >= 1 && kRows <= static_cast<int>(kMR), "tile rows");
  static_assert(kVecs == 1 || kVecs == 2, "tile column vectors");
#pragma GCC unroll 2
  for (int v = 0; v < kVecs; ++v) {
    const __m512i col = _mm512_loadu_si512(t.cols.col_offset + 16 * v);
#pragma GCC unroll 8
    for (int i = 0; i < kRows; ++i) {
      const __m512i row = _mm512_set1_epi32(t.row_offset[i]);
      acc[i][v] = _mm512_add_epi32(acc[i][v], _mm512_add_epi32(row, col));
    }
  }
}

// kRows (1..8) rows of A against kVecs (1 or 2) 16-column vectors of B over
// the whole depth, plus the row and column offsets: acc holds the exact
// int32 (wrapped) sums of the tile.
//
// The accumulators are named variables, not an array: GCC 12 scalarizes an
// array of vectors only after unrolling the loops that index it, too late,
// and then moves every accumulator through a copy per k-group. Its partial
// redundancy elimination does the same to named variables (it splits each
// accumulator into an __m512i and a v16si phi), hence no-tree-pre for this
// file (a pragma in gemm_8x32.cc). With both, the depth loop is 2 B loads + 8
// broadcasts + 16 VPDPBUSD and loop control, accumulators in zmm registers.
#define QGEMM_VNNI_ROW(i)                                         \
  if constexpr (kRows > (i)) {                                    \
    int32_t quad;                                                 \
    std::memcpy(&quad, kInPlace ? a + (i)*stride : a + kKR * (i), \
                sizeof quad);                                     \
    const __m512i av = _mm512_set1_epi32(quad);                   \
    acc##i##0 = _mm512_dpbusd_epi32(acc##i##0, av, b0);           \
    if constexpr (kVecs > 1)                                      \
      acc##i##1 = _mm512_dpbusd_epi32(acc##i##1, av, b1);         \
  }
#define QGEMM_VNNI_INIT(i)                                            \
  if constexpr (kRows > (i)) {                                        \
    const __m512i row = _mm512_set1_epi32(t.row_offset[(i)]);         \
    acc##i##0 = _mm512_add_epi32(row, col0);                          \
    if constexpr (kVecs > 1) acc##i##1 = _mm512_add_epi32(row, col1); \
  }
#define QGEMM_VNNI_SAVE(i)                                    \
  if constexpr (kRows > (i)) {                                \
    acc[(i)][0] = acc##i##0;                                  \
    if constexpr (kVecs > 1) acc[(i)][kVecs - 1] = acc##i##1; \
  }

// kInPlace: A read where the caller has it (TileArgs::a_stride), row i at
// a_panel + i * a_stride, 4 bytes per k-group; else the packed panel.
template <int kRows, int kVecs, bool kInPlace>
inline void AccumulateTileFrom(const TileArgs& t,
                               __m512i (&acc)[kRows][kVecs]) {
  const auto* a = static_cast<const uint8_t*>(t.a_panel);
  const size_t stride = t.a_stride;
  const auto* b = static_cast<const uint8_t*>(t.b_panel);
  const __m512i zero = _mm512_setzero_si512();
  __m512i acc00 = zero, acc01 = zero, acc10 = zero, acc11 = zero;
  __m512i acc20 = zero, acc21 = zero, acc30 = zero, acc31 = zero;
  __m512i acc40 = zero, acc41 = zero, acc50 = zero, acc51 = zero;
  __m512i acc60 = zero, acc61 = zero, acc70 = zero, acc71 = zero;
  // The accumulators start at row_offset[i] + col_offset[j] (the sums
  // wrap, so adding the offsets first or last gives the same int32).
  const __m512i col0 = _mm512_loadu_si512(t.cols.col_offset);
  __m512i col1 = zero;
  if constexpr (kVecs > 1) col1 = _mm512_loadu_si512(t.cols.col_offset + 16);
  QGEMM_VNNI_INIT(0)
  QGEMM_VNNI_INIT(1)
  QGEMM_VNNI_INIT(2)
  QGEMM_VNNI_INIT(3)
  QGEMM_VNNI_INIT(4)
  QGEMM_VNNI_INIT(5)
  QGEMM_VNNI_INIT(6)
  QGEMM_VNNI_INIT(7)
  const size_t groups = t.k_padded / kKR;
  // t.a_prefetch (in place only): one line of those rows every other
  // k-group, row after row, into L2. Addresses are integers (the rows may
  // lie past anything this call may form a pointer to).
  uintptr_t fetch = 0, fetch_row = 0, fetch_row_end = 0;
  size_t fetch_rows = 0;
  if constexpr (kInPlace) {
    if (t.a_prefetch != nullptr) {
      fetch_row = reinterpret_cast<uintptr_t>(t.a_prefetch);
      fetch = fetch_row & ~uintptr_t{63};
      fetch_row_end = fetch_row + t.k_padded;
      fetch_rows = kMR;
    }
  }
  for (size_t g = 0; g < groups; ++g) {
    if constexpr (kInPlace) {
      if ((g & 1) == 0 && fetch_rows != 0) {
        // NOLINTNEXTLINE(performance-no-int-to-ptr)
        _mm_prefetch(reinterpret_cast<const char*>(fetch), _MM_HINT_T1);
        fetch += 64;
        if (fetch >= fetch_row_end) {
          fetch_row += stride;
          fetch = fetch_row & ~uintptr_t{63};
          fetch_row_end = fetch_row + t.k_padded;
          --fetch_rows;
        }
      }
    }
    const __m512i b0 = _mm512_loadu_si512(b);
    __m512i b1 = zero;
    if constexpr (kVecs > 1) b1 = _mm512_loadu_si512(b + 64);
    QGEMM_VNNI_ROW(0)
    QGEMM_VNNI_ROW(1)
    QGEMM_VNNI_ROW(2)
    QGEMM_VNNI_ROW(3)
    QGEMM_VNNI_ROW(4)
    QGEMM_VNNI_ROW(5)
    QGEMM_VNNI_ROW(6)
    QGEMM_VNNI_ROW(7)
    a += kInPlace ? kKR : kAGroupBytes;
    b += kBGroupBytes;
  }
  QGEMM_VNNI_SAVE(0)
  QGEMM_VNNI_SAVE(1)
  QGEMM_VNNI_SAVE(2)
  QGEMM_VNNI_SAVE(3)
  QGEMM_VNNI_SAVE(4)
  QGEMM_VNNI_SAVE(5)
  QGEMM_VNNI_SAVE(6)
  QGEMM_VNNI_SAVE(7)
}
#undef QGEMM_VNNI_INIT
#undef QGEMM_VNNI_ROW
#undef QGEMM_VNNI_SAVE

// Few rows (GEMV, M <= 4: the tile of one A panel has m_eff <= 4): the
// tile above gives each accumulator one VPDPBUSD per k-group, so at one row
// its two chains wait on the instruction's latency and read B at a fraction
// of the rate L2 delivers it (measured: 1x1024x1024 at 0.8x the plain read
// of its bytes). Here kChains consecutive k-groups go to separate
// accumulators (4 chains at 1 row, 2 at 2-4 rows: 8 to 16 accumulators),
// folded at the end: vpaddd wraps, so the sum mod 2^32 is the same in any
// order. 2 chains at 4 rows measured +5% on 4x1024x1024 over the tile above.
// Accumulator x<c><i><v>: chain c, row i, column vector v (named, as above).
#define QGEMM_FEW_ROW(c, i)                                      \
  if constexpr (kChains > (c) && kRows > (i)) {                  \
    int32_t quad;                                                \
    std::memcpy(&quad,                                           \
                kInPlace ? a + (i)*stride + kKR*(c)              \
                         : a + kAGroupBytes * (c) + kKR * (i),   \
                sizeof quad);                                    \
    const __m512i av = _mm512_set1_epi32(quad);                  \
    x##c##i##0 = _mm512_dpbusd_epi32(x##c##i##0, av, b##c##0);   \
    if constexpr (kVecs > 1)                                     \
      x##c##i##1 = _mm512_dpbusd_epi32(x##c##i##1, av, b##c##1); \
  }
#define QGEMM_FEW_GROUP(c)                                       \
  if constexpr (kChains > (c)) {                                 \
    b##c##0 = _mm512_loadu_si512(b + kBGroupBytes * (c));        \
    if constexpr (kVecs > 1)                                     \
      b##c##1 = _mm512_loadu_si512(b + kBGroupBytes * (c) + 64); \
    QGEMM_FEW_ROW(c, 0)                                          \
    QGEMM_FEW_ROW(c, 1)                                          \
    QGEMM_FEW_ROW(c, 2)                                          \
    QGEMM_FEW_ROW(c, 3)                                          \
  }
#define QGEMM_FEW_FOLD(i, v)                                          \
  if constexpr (kRows > (i) && kVecs > (v)) {                         \
    __m512i sum = x0##i##v;                                           \
    if constexpr (kChains > 1) sum = _mm512_add_epi32(sum, x1##i##v); \
    if constexpr (kChains > 2) sum = _mm512_add_epi32(sum, x2##i##v); \
    if constexpr (kChains > 3) sum = _mm512_add_epi32(sum, x3##i##v); \
    acc[(i)][(v)] = sum;                                              \
  }

template <int kRows, int kVecs, bool kInPlace>
inline void AccumulateFewRowsFrom(const TileArgs& t,
                                  __m512i (&acc)[kRows][kVecs]) {
  static_assert(kRows >= 1 && kRows <= 4, "few rows");
  constexpr int kChains = kRows == 1 ? 4 : 2;
  const auto* a = static_cast<const uint8_t*>(t.a_panel);
  const size_t stride = t.a_stride;
  const auto* b = static_cast<const uint8_t*>(t.b_panel);
  const size_t a_step = kInPlace ? kKR : kAGroupBytes;
  const __m512i zero = _mm512_setzero_si512();
  __m512i x000 = zero, x001 = zero, x010 = zero, x011 = zero;
  __m512i x020 = zero, x021 = zero, x030 = zero, x031 = zero;
  __m512i x100 = zero, x101 = zero, x110 = zero, x111 = zero;
  __m512i x120 = zero, x121 = zero, x130 = zero, x131 = zero;
  __m512i x200 = zero, x201 = zero, x210 = zero, x211 = zero;
  __m512i x220 = zero, x221 = zero, x230 = zero, x231 = zero;
  __m512i x300 = zero, x301 = zero, x310 = zero, x311 = zero;
  __m512i x320 = zero, x321 = zero, x330 = zero, x331 = zero;
  __m512i b00 = zero, b01 = zero, b10 = zero, b11 = zero;
  __m512i b20 = zero, b21 = zero, b30 = zero, b31 = zero;
  const size_t groups = t.k_padded / kKR;
  size_t g = 0;
  for (; g + kChains <= groups; g += kChains) {
    QGEMM_FEW_GROUP(0)
    QGEMM_FEW_GROUP(1)
    QGEMM_FEW_GROUP(2)
    QGEMM_FEW_GROUP(3)
    a += kChains * a_step;
    b += kChains * kBGroupBytes;
  }
  for (; g < groups; ++g) {  // the last groups, on chain 0
    QGEMM_FEW_GROUP(0)
    a += a_step;
    b += kBGroupBytes;
  }
  QGEMM_FEW_FOLD(0, 0)
  QGEMM_FEW_FOLD(0, 1)
  QGEMM_FEW_FOLD(1, 0)
  QGEMM_FEW_FOLD(1, 1)
  QGEMM_FEW_FOLD(2, 0)
  QGEMM_FEW_FOLD(2, 1)
  QGEMM_FEW_FOLD(3, 0)
  QGEMM_FEW_FOLD(3, 1)
  AddTileOffsets<kRows, kVecs>(t, acc);
}
#undef QGEMM_FEW_ROW
#undef QGEMM_FEW_GROUP
#undef QGEMM_FEW_FOLD

template <int kRows, int kVecs>
inline void AccumulateTile(const TileArgs& t, __m512i (&acc)[kRows][kVecs]) {
  if constexpr (kRows <= kFewRows) {
    if (t.a_stride != 0) {
      AccumulateFewRowsFrom<kRows, kVecs, true>(t, acc);
    } else {
      AccumulateFewRowsFrom<kRows, kVecs, false>(t, acc);
    }
  } else if (t.a_stride != 0) {
    AccumulateTileFrom<kRows, kVecs, true>(t, acc);
  } else {
    AccumulateTileFrom<kRows, kVecs, false>(t, acc);
  }
}

// Store masks for the n_eff columns of a tile: 16 lanes per vector.
inline __mmask16 LaneMask(size_t n_eff, int v) {
  const size_t lo = 16 * static_cast<size_t>(v);
  if (n_eff <= lo) return 0;
  const size_t n = n_eff - lo;
  return static_cast<__mmask16>(n >= 16 ? 0xFFFFu : (1u << n) - 1u);
}

// The per-column parameters of 16 columns, in the form the output stage
// uses them: the left shift as given, and steps 2-3 as one rounding of the
// int64 product in each 64-bit lane (see RequantizeRow16), split into the
// even columns 0, 2, .. 14 (the low dword of each 64-bit lane) and the odd
// ones (the high dword, moved down).
struct OutputParams16 {
  __m512i left_shift;                       // 16 x int32
  __m512i multiplier_even, multiplier_odd;  // M0 in the low dword of a qword
  __m512i shift_even, shift_odd;            // 31 + e, int64
  __m512i round_even, round_odd;            // 2^30 + [e > 0] 2^(30 + e)
  __mmask8 shifts_even, shifts_odd;         // lanes with e > 0
};

inline OutputParams16 LoadOutputParams(const TileArgs& t, int v) {
  OutputParams16 p;
  p.left_shift = _mm512_loadu_si512(t.cols.left_shift + 16 * v);
  const __m512i multiplier = _mm512_loadu_si512(t.cols.multiplier + 16 * v);
  const __m512i right_shift = _mm512_loadu_si512(t.cols.right_shift + 16 * v);
  p.multiplier_even = multiplier;  // VPMULDQ reads the low dword only
  p.multiplier_odd = _mm512_srli_epi64(multiplier, 32);
  const __m512i e_even =
      _mm512_and_si512(right_shift, _mm512_set1_epi64(int64_t{0xFFFFFFFF}));
  const __m512i e_odd = _mm512_srli_epi64(right_shift, 32);
  const __m512i bias = _mm512_set1_epi64(int64_t{1} << 30);
  const __m512i thirty_one = _mm512_set1_epi64(31);
  p.shift_even = _mm512_add_epi64(e_even, thirty_one);
  p.shift_odd = _mm512_add_epi64(e_odd, thirty_one);
  p.shifts_even = _mm512_test_epi64_mask(e_even, e_even);
  p.shifts_odd = _mm512_test_epi64_mask(e_odd, e_odd);
  p.round_even = _mm512_mask_add_epi64(bias, p.shifts_even, bias,
                                       _mm512_sllv_epi64(bias, e_even));
  p.round_odd = _mm512_mask_add_epi64(bias, p.shifts_odd, bias,
                                      _mm512_sllv_epi64(bias, e_odd));
  return p;
}

// Steps 2-3 on the 8 products of one parity: floor((p + round - c) / 2^s)
// with c = 2^31 where the lane shifts and p < -2^30 (else 0), s = 31 + e.
inline __m512i RoundProducts8(__m512i product, __m512i round, __m512i shift,
                              __mmask8 shifts) {
  const __mmask8 below = _mm512_mask_cmpgt_epi64_mask(
      shifts, _mm512_set1_epi64(-(int64_t{1} << 30)), product);
  __m512i q = _mm512_add_epi64(product, round);
  q = _mm512_mask_sub_epi64(q, below, q, _mm512_set1_epi64(int64_t{1} << 31));
  return _mm512_srav_epi64(q, shift);
}

// Steps 1-3 of the output stage (docs/design.md) on 16 lanes: the int32 before
// the zero point and the clamp (step 4 is in NarrowRowPair). kLeftShift false:
// the caller checked that every lane's left shift is 0, where step 1 is the
// identity (x * 2^0 = x always fits), so it is skipped.
template <bool kLeftShift>
inline __m512i RequantizeRow16(__m512i x, const OutputParams16& p) {
  // 1. x * 2^ls saturated, ls in [0, 30]. x << ls is exact iff shifting it
  //    back arithmetically gives x again (the bits shifted out were all
  //    copies of the sign); otherwise the true product is beyond int32 on
  //    the side of x's sign.
  if constexpr (kLeftShift) {
    const __m512i shifted = _mm512_sllv_epi32(x, p.left_shift);
    const __mmask16 fits =
        _mm512_cmpeq_epi32_mask(_mm512_srav_epi32(shifted, p.left_shift), x);
    const __mmask16 negative = _mm512_movepi32_mask(x);  // the sign bits
    const __m512i saturated = _mm512_mask_blend_epi32(
        negative, _mm512_set1_epi32(INT32_MAX), _mm512_set1_epi32(INT32_MIN));
    x = _mm512_mask_blend_epi32(fits, saturated, shifted);
  }

  // 2. SRDHM(x, M0) = trunc((p + nudge) / 2^31), p = x * M0 exact in int64.
  //    For p >= 0 that is floor((p + 2^30) / 2^31); for p < 0,
  //    trunc((p + 1 - 2^30) / 2^31) = floor((p + 1 - 2^30 + 2^31 - 1) / 2^31)
  //    = floor((p + 2^30) / 2^31) as well. So r = floor(y / 2^31) with
  //    y = p + 2^30. (r fits int32 except for x = M0 = INT32_MIN, which
  //    cannot occur: the API guarantees M0 in [0, 2^31 - 1], docs/design.md
  //    "Output stage".)
  // 3. RDBPOT(r, e), e in [0, 31], as gemmlowp: mask = 2^e - 1,
  //    rem = r & mask, threshold = (mask >> 1) + (r < 0), result =
  //    (r >> e) + (rem > threshold). For e = 0 that is r. For e >= 1 it is
  //    floor((r + c) / 2^e) with c = 2^(e-1) - [r < 0]: r >> e is
  //    floor(r / 2^e), and since 0 <= rem + c < 2^(e+1), adding c carries
  //    one more iff rem + c >= 2^e, i.e. rem >= 2^(e-1) + [r < 0], i.e.
  //    rem > threshold.
  // Both at once: floor((floor(y / 2^31) + c) / 2^e) = floor((y + c 2^31) /
  // 2^(31+e)) for any integer c, and r < 0 iff y < 0 iff p < -2^30. So
  //   result = floor((p + 2^30 + 2^(30+e) - [p < -2^30] 2^31) / 2^(31+e))
  // for e >= 1, and floor((p + 2^30) / 2^31) for e = 0: one add, one
  // masked subtract and one arithmetic shift per int64 lane
  // (|p| < 2^62, so the sum stays within int64; the quotient is an int32).
  // VPMULDQ multiplies the even dwords; the odd ones are moved down first,
  // and their results moved back up into the odd dwords.
  const __m512i p_even = _mm512_mul_epi32(x, p.multiplier_even);
  const __m512i p_odd =
      _mm512_mul_epi32(_mm512_srli_epi64(x, 32), p.multiplier_odd);
  const __m512i even =
      RoundProducts8(p_even, p.round_even, p.shift_even, p.shifts_even);
  const __m512i odd =
      RoundProducts8(p_odd, p.round_odd, p.shift_odd, p.shifts_odd);
  // Odd dword 2l + 1 takes dword 2l of `odd`, the low half of its qword l.
  const __m512i low_dwords =
      _mm512_setr_epi32(0, 0, 2, 2, 4, 4, 6, 6, 8, 8, 10, 10, 12, 12, 14, 14);
  return _mm512_mask_permutexvar_epi32(even, static_cast<__mmask16>(0xAAAA),
                                       low_dwords, odd);
}

// Step 4, clamp(x + zc, cmin, cmax), for two rows of 32 columns at once:
// x0/x1 are columns 0..15/16..31 of the first row, y0/y1 of the second.
// Returns the first row's 32 bytes in the low half, the second's in the
// high half. Saturating on the way down gives the same bytes as the exact
// clamp, because every saturation moves a value only within one side of
// [cmin, cmax] (zc in [0, 255] and 0 <= cmin <= cmax <= 255, checked by the
// API):
//   VPACKSSDW   x -> s = sat16(x). If x is in int16, s = x. If x > 32767,
//               s = 32767 and both s + zc and x + zc are > 255 (-> cmax);
//               if x < -32768, both are < 0 (-> cmin).
//   VPADDSW     s + zc, saturated to 32767 only where s + zc > 255 anyway.
//   VPACKUSWB   clamp to [0, 255], which contains [cmin, cmax];
//   VPMAXUB/VPMINUB  the clamp to [cmin, cmax].
// The packs work within 128-bit lanes: lane L of the packed bytes holds
// dwords (x0, x1, y0, y1) part L, which VPERMD puts back in column order.
struct ClampParams {
  __m512i zero_point;    // int16 lanes
  __m512i c_min, c_max;  // uint8 lanes
  __m512i order;         // dword permutation back to column order
};

inline ClampParams LoadClampParams(const OutputClamp& c) {
  ClampParams p;
  p.zero_point = _mm512_set1_epi16(static_cast<int16_t>(c.c_zero_point));
  p.c_min = _mm512_set1_epi8(static_cast<char>(c.c_min));
  p.c_max = _mm512_set1_epi8(static_cast<char>(c.c_max));
  p.order =
      _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  return p;
}

inline __m512i NarrowRowPair(__m512i x0, __m512i x1, __m512i y0, __m512i y1,
                             const ClampParams& p) {
  const __m512i x = _mm512_adds_epi16(_mm512_packs_epi32(x0, x1), p.zero_point);
  const __m512i y = _mm512_adds_epi16(_mm512_packs_epi32(y0, y1), p.zero_point);
  __m512i bytes = _mm512_packus_epi16(x, y);
  bytes = _mm512_min_epu8(_mm512_max_epu8(bytes, p.c_min), p.c_max);
  return _mm512_permutexvar_epi32(p.order, bytes);
}

template <int kRows, int kVecs, bool kLeftShift>
inline void StoreU8Rows(const TileArgs* t, const __m512i (&acc)[kRows][kVecs],
                        const OutputParams16 (&params)[kVecs]) {
  auto* c = static_cast<uint8_t*>(t->c);
  const size_t n_eff = t->n_eff;
  const ClampParams clamp = LoadClampParams(*t->clamp);
  const __mmask32 mask =
      static_cast<__mmask32>(n_eff >= 32 ? 0xFFFFFFFFu : (1u << n_eff) - 1u);
  const __m512i unused = _mm512_setzero_si512();  // lanes never stored
#pragma GCC unroll 4
  for (int i = 0; i < kRows; i += 2) {
    // Rows i and i + 1 (if any); column vector 1 only when the tile has it.
    const __m512i x0 = RequantizeRow16<kLeftShift>(acc[i][0], params[0]);
    __m512i x1 = unused, y0 = unused, y1 = unused;
    if constexpr (kVecs > 1) {
      x1 = RequantizeRow16<kLeftShift>(acc[i][kVecs - 1], params[kVecs - 1]);
    }
    if (i + 1 < kRows) {
      const int i1 = i + 1 < kRows ? i + 1 : i;  // in bounds when unused
      y0 = RequantizeRow16<kLeftShift>(acc[i1][0], params[0]);
      if constexpr (kVecs > 1) {
        y1 = RequantizeRow16<kLeftShift>(acc[i1][kVecs - 1], params[kVecs - 1]);
      }
    }
    const __m512i bytes = NarrowRowPair(x0, x1, y0, y1, clamp);
    uint8_t* row = c + static_cast<size_t>(i) * t->ldc;
    _mm256_mask_storeu_epi8(row, mask, _mm512_castsi512_si256(bytes));
    if (i + 1 < kRows) {
      _mm256_mask_storeu_epi8(row + t->ldc, mask,
                              _mm512_extracti64x4_epi64(bytes, 1));
    }
  }
}

// The output stages of a tile's exact int32 sums acc (offsets added).
template <int kRows, int kVecs>
inline void OutputU8Tile(const TileArgs* t,
                         const __m512i (&acc)[kRows][kVecs]) {
  OutputParams16 params[kVecs];
  __m512i any_left_shift = _mm512_setzero_si512();
#pragma GCC unroll 2
  for (int v = 0; v < kVecs; ++v) {
    params[v] = LoadOutputParams(*t, v);
    any_left_shift = _mm512_or_si512(any_left_shift, params[v].left_shift);
  }
  // Typical requantization only shifts right (multipliers below 1): then
  // the tile skips step 1. Exact either way (see RequantizeRow16).
  if (_mm512_test_epi32_mask(any_left_shift, any_left_shift) != 0) {
    StoreU8Rows<kRows, kVecs, true>(t, acc, params);
  } else {
    StoreU8Rows<kRows, kVecs, false>(t, acc, params);
  }
}

template <int kRows, int kVecs>
inline void OutputS32Tile(const TileArgs* t,
                          const __m512i (&acc)[kRows][kVecs]) {
  auto* c = static_cast<int32_t*>(t->c);
#pragma GCC unroll 8
  for (int i = 0; i < kRows; ++i) {
    int32_t* row = c + static_cast<size_t>(i) * t->ldc;
#pragma GCC unroll 2
    for (int v = 0; v < kVecs; ++v) {
      _mm512_mask_storeu_epi32(row + 16 * v, LaneMask(t->n_eff, v), acc[i][v]);
    }
  }
}

// Float C: fmaf((float) acc, scale[j], bias_f[j]) per lane. vcvtdq2ps
// rounds to nearest even (default MXCSR, as (float) in C), vfmadd rounds
// once (as fmaf); the masked stores write only the n_eff columns.
template <int kRows, int kVecs>
inline void OutputF32Tile(const TileArgs* t,
                          const __m512i (&acc)[kRows][kVecs]) {
  __m512 scale[kVecs], bias[kVecs];
  __mmask16 mask[kVecs];
#pragma GCC unroll 2
  for (int v = 0; v < kVecs; ++v) {
    scale[v] = _mm512_loadu_ps(t->cols.scale + 16 * v);
    bias[v] = _mm512_loadu_ps(t->cols.bias_f + 16 * v);
    mask[v] = LaneMask(t->n_eff, v);
  }
  auto* c = static_cast<float*>(t->c);
#pragma GCC unroll 8
  for (int i = 0; i < kRows; ++i) {
    float* row = c + static_cast<size_t>(i) * t->ldc;
#pragma GCC unroll 2
    for (int v = 0; v < kVecs; ++v) {
      const __m512 y =
          _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[i][v]), scale[v], bias[v]);
      _mm512_mask_storeu_ps(row + 16 * v, mask[v], y);
    }
  }
}

template <int kRows, int kVecs>
void GemmU8Tile(const TileArgs* t) {
  __m512i acc[kRows][kVecs];
  AccumulateTile<kRows, kVecs>(*t, acc);
  OutputU8Tile<kRows, kVecs>(t, acc);
}

template <int kRows, int kVecs>
void GemmS32Tile(const TileArgs* t) {
  __m512i acc[kRows][kVecs];
  AccumulateTile<kRows, kVecs>(*t, acc);
  OutputS32Tile<kRows, kVecs>(t, acc);
}

template <int kRows, int kVecs>
void GemmF32Tile(const TileArgs* t) {
  __m512i acc[kRows][kVecs];
  AccumulateTile<kRows, kVecs>(*t, acc);
  OutputF32Tile<kRows, kVecs>(t, acc);
}

// [m_eff - 1][n_eff > 16]: the kernel instantiated for exactly that edge.
constexpr GemmTileFn kGemmU8Edges[kMR][2] = {
    {GemmU8Tile<1, 1>, GemmU8Tile<1, 2>}, {GemmU8Tile<2, 1>, GemmU8Tile<2, 2>},
    {GemmU8Tile<3, 1>, GemmU8Tile<3, 2>}, {GemmU8Tile<4, 1>, GemmU8Tile<4, 2>},
    {GemmU8Tile<5, 1>, GemmU8Tile<5, 2>}, {GemmU8Tile<6, 1>, GemmU8Tile<6, 2>},
    {GemmU8Tile<7, 1>, GemmU8Tile<7, 2>}, {GemmU8Tile<8, 1>, GemmU8Tile<8, 2>},
};
constexpr GemmTileFn kGemmS32Edges[kMR][2] = {
    {GemmS32Tile<1, 1>, GemmS32Tile<1, 2>},
    {GemmS32Tile<2, 1>, GemmS32Tile<2, 2>},
    {GemmS32Tile<3, 1>, GemmS32Tile<3, 2>},
    {GemmS32Tile<4, 1>, GemmS32Tile<4, 2>},
    {GemmS32Tile<5, 1>, GemmS32Tile<5, 2>},
    {GemmS32Tile<6, 1>, GemmS32Tile<6, 2>},
    {GemmS32Tile<7, 1>, GemmS32Tile<7, 2>},
    {GemmS32Tile<8, 1>, GemmS32Tile<8, 2>},
};

constexpr GemmTileFn kGemmF32Edges[kMR][2] = {
    {GemmF32Tile<1, 1>, GemmF32Tile<1, 2>},
    {GemmF32Tile<2, 1>, GemmF32Tile<2, 2>},
    {GemmF32Tile<3, 1>, GemmF32Tile<3, 2>},
    {GemmF32Tile<4, 1>, GemmF32Tile<4, 2>},
    {GemmF32Tile<5, 1>, GemmF32Tile<5, 2>},
    {GemmF32Tile<6, 1>, GemmF32Tile<6, 2>},
    {GemmF32Tile<7, 1>, GemmF32Tile<7, 2>},
    {GemmF32Tile<8, 1>, GemmF32Tile<8, 2>},
};

void GemmU8(const TileArgs* t) { kGemmU8Edges[t->m_eff - 1][t->n_eff > 16](t); }

void GemmS32(const TileArgs* t) {
  kGemmS32Edges[t->m_eff - 1][t->n_eff > 16](t);
}

void GemmF32(const TileArgs* t) {
  kGemmF32Edges[t->m_eff - 1][t->n_eff > 16](t);
}

// ---- Dot rows: few rows of A against an unpacked k x n B ------------------
//
// The DotRowsFn of kernel_table.h (m <= 4, B k x n row-major, read in
// place). Two passes, like AVX2's (kernels/avx2/dot_rows_4x32.cc):
//   1. Sums into the scratch, 8 depth rows at a time along the whole width
//      (each row is read front to back, which the prefetchers follow):
//      each 4 rows of 64 columns are interleaved into per-column quads
//      (QuadsOf64) and VPDPBUSD adds them, as the unsigned operand, times
//      a' = a XOR 0x80 = a - 128 (the signed operand, broadcast per row):
//        S[i][j] = sum_k (a[i][k] - 128) * b[k][j],
//      and times ones into the column sums T[j] = sum_k b[k][j] (row m of
//      the scratch). |4 products| <= 4 * 128 * 255 < 2^31: exact.
//   2. sum_k (a - za) b = S + (128 - za) T  (mod 2^32), then the tile output
//      stage of 32 columns at a time (row and column offsets, C).
// a - za itself does not fit int8 (it spans [-255, 255]), hence a - 128 and
// the column sums. Depth rows past k are zero in B (never loaded), and the
// last columns of a 64-column step are masked loads: no byte outside A or B
// is read. Scratch layout: per 64-column step, 4 vectors in quad order
// (vector v, 128-bit lane L holds columns 16L + 4v .. 16L + 4v + 3), put
// back in column order by a 4 x 4 transpose of lanes in pass 2.
constexpr uint32_t kDotRowsNR = 64;

// Quads of 4 depth rows x0..x3 of 64 columns: q[v] as the layout above.
inline void QuadsOf64(__m512i x0, __m512i x1, __m512i x2, __m512i x3,
                      __m512i (&q)[4]) {
  const __m512i t0 = _mm512_unpacklo_epi8(x0, x1);  // lane cols 0-7
  const __m512i t1 = _mm512_unpackhi_epi8(x0, x1);  // lane cols 8-15
  const __m512i t2 = _mm512_unpacklo_epi8(x2, x3);
  const __m512i t3 = _mm512_unpackhi_epi8(x2, x3);
  q[0] = _mm512_unpacklo_epi16(t0, t2);  // lane cols 0-3
  q[1] = _mm512_unpackhi_epi16(t0, t2);  // 4-7
  q[2] = _mm512_unpacklo_epi16(t1, t3);  // 8-11
  q[3] = _mm512_unpackhi_epi16(t1, t3);  // 12-15
}

// a[kk .. kk + 8) of one row as two int8 quads of a - 128 (0 past k).
inline void AQuads(const uint8_t* row, size_t kk, size_t k, __m512i* lo,
                   __m512i* hi) {
  uint8_t bytes[8] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80};
  const size_t count = k - kk < 8 ? k - kk : 8;
  std::memcpy(bytes, row + kk, count);
  uint32_t q0, q1;
  std::memcpy(&q0, bytes, 4);
  std::memcpy(&q1, bytes + 4, 4);
  *lo = _mm512_set1_epi32(static_cast<int32_t>(q0 ^ 0x80808080u));
  *hi = _mm512_set1_epi32(static_cast<int32_t>(q1 ^ 0x80808080u));
}

template <int kRows>
void DotRowsSums(const DotRowsArgs& d, int32_t* sums, size_t ldo) {
  const size_t k = d.k, n = d.n;
  const __m512i ones = _mm512_set1_epi8(1);
  int32_t* col_sums = sums + static_cast<size_t>(kRows) * ldo;
  for (int i = 0; i <= kRows; ++i) {
    std::memset(sums + static_cast<size_t>(i) * ldo, 0, ldo * sizeof(int32_t));
  }
  for (size_t kk = 0; kk < k; kk += 8) {
    __m512i a_lo[4], a_hi[4];
    for (int i = 0; i < kRows; ++i) {
      AQuads(d.a + static_cast<size_t>(i) * d.lda, kk, k, &a_lo[i], &a_hi[i]);
    }
    const size_t rows = k - kk < 8 ? k - kk : 8;
    const uint8_t* r = d.b + kk * d.ldb;
    // The same columns of the next 8 rows: 8 streams ldb apart are more
    // than the hardware prefetchers keep up with (measured, medians of 3 x
    // 3: 1x1024x1024 101 -> 116-137 GOP/s, 4x1024x1024 190 -> 256-274,
    // 4x4096x4096 133 -> 138-173). An integer: past B's last row the
    // address may not be formed as a pointer (a prefetch never faults).
    const uintptr_t ahead = reinterpret_cast<uintptr_t>(r) + 8 * d.ldb;
    for (size_t j = 0; j < n; j += 64) {
      const size_t cols = n - j < 64 ? n - j : 64;
      const __mmask64 mask =
          cols == 64 ? ~__mmask64{0} : (__mmask64{1} << cols) - 1;
      for (size_t q = 0; q < 8; ++q) {
        // NOLINTNEXTLINE(performance-no-int-to-ptr)
        _mm_prefetch(reinterpret_cast<const char*>(ahead + q * d.ldb + j),
                     _MM_HINT_T0);
      }
      __m512i x[8];
      for (size_t q = 0; q < 8; ++q) {
        x[q] = q < rows ? _mm512_maskz_loadu_epi8(mask, r + q * d.ldb + j)
                        : _mm512_setzero_si512();
      }
      __m512i lo[4], hi[4];
      QuadsOf64(x[0], x[1], x[2], x[3], lo);
      QuadsOf64(x[4], x[5], x[6], x[7], hi);
      for (int v = 0; v < 4; ++v) {
        int32_t* t = col_sums + j + 16 * v;
        __m512i cs = _mm512_loadu_si512(t);
        cs = _mm512_dpbusd_epi32(cs, lo[v], ones);
        cs = _mm512_dpbusd_epi32(cs, hi[v], ones);
        _mm512_storeu_si512(t, cs);
      }
      for (int i = 0; i < kRows; ++i) {
        int32_t* row = sums + static_cast<size_t>(i) * ldo + j;
        for (int v = 0; v < 4; ++v) {
          __m512i acc = _mm512_loadu_si512(row + 16 * v);
          acc = _mm512_dpbusd_epi32(acc, lo[v], a_lo[i]);
          acc = _mm512_dpbusd_epi32(acc, hi[v], a_hi[i]);
          _mm512_storeu_si512(row + 16 * v, acc);
        }
      }
    }
  }
}

// Columns 64c .. 64c + 63 in column order: 4 x 4 transpose of 128-bit lanes
// of the quad-order vectors p (see above).
inline void ColumnOrder(const __m512i (&p)[4], __m512i (&out)[4]) {
  const __m512i u0 = _mm512_shuffle_i32x4(p[0], p[1], 0x44);
  const __m512i u1 = _mm512_shuffle_i32x4(p[2], p[3], 0x44);
  const __m512i u2 = _mm512_shuffle_i32x4(p[0], p[1], 0xEE);
  const __m512i u3 = _mm512_shuffle_i32x4(p[2], p[3], 0xEE);
  out[0] = _mm512_shuffle_i32x4(u0, u1, 0x88);
  out[1] = _mm512_shuffle_i32x4(u0, u1, 0xDD);
  out[2] = _mm512_shuffle_i32x4(u2, u3, 0x88);
  out[3] = _mm512_shuffle_i32x4(u2, u3, 0xDD);
}

template <int kRows>
void DotRowsOut(const DotRowsArgs& d, const int32_t* sums, size_t ldo) {
  const int32_t* col_sums = sums + static_cast<size_t>(kRows) * ldo;
  const __m512i shift_back =
      _mm512_set1_epi32(128 - static_cast<int32_t>(d.za));
  TileArgs t{};
  t.row_offset = d.row_offset;
  t.clamp = d.clamp;
  t.ldc = d.ldc;
  t.m_eff = kRows;
  const size_t elem = d.output == OutputKind::kUint8 ? 1 : 4;
  for (size_t j = 0; j < d.n; j += 64) {
    __m512i cs[4];
    for (int v = 0; v < 4; ++v) {
      cs[v] = _mm512_mullo_epi32(_mm512_loadu_si512(col_sums + j + 16 * v),
                                 shift_back);
    }
    __m512i acc[2][kRows][2];
    for (int i = 0; i < kRows; ++i) {
      __m512i p[4], c[4];
      for (int v = 0; v < 4; ++v) {
        p[v] = _mm512_add_epi32(
            _mm512_loadu_si512(sums + static_cast<size_t>(i) * ldo + j +
                               16 * v),
            cs[v]);
      }
      ColumnOrder(p, c);
      acc[0][i][0] = c[0];
      acc[0][i][1] = c[1];
      acc[1][i][0] = c[2];
      acc[1][i][1] = c[3];
    }
    for (size_t h = 0; h < 2; ++h) {
      const size_t j0 = j + 32 * h;
      if (j0 >= d.n) break;
      t.n_eff = d.n - j0 < 32 ? d.n - j0 : 32;
      t.cols = {d.cols.col_offset + j0, d.cols.multiplier + j0,
                d.cols.left_shift + j0, d.cols.right_shift + j0,
                d.cols.scale + j0,      d.cols.bias_f + j0};
      t.c = static_cast<uint8_t*>(d.c) + j0 * elem;
      AddTileOffsets<kRows, 2>(t, acc[h]);
      switch (d.output) {
        case OutputKind::kUint8:
          OutputU8Tile<kRows, 2>(&t, acc[h]);
          break;
        case OutputKind::kInt32:
          OutputS32Tile<kRows, 2>(&t, acc[h]);
          break;
        case OutputKind::kFloat:
          OutputF32Tile<kRows, 2>(&t, acc[h]);
          break;
      }
    }
  }
}

template <int kRows>
void DotRows(const DotRowsArgs& d) {
  const size_t ldo = (d.n + kDotRowsNR - 1) / kDotRowsNR * kDotRowsNR;
  DotRowsSums<kRows>(d, d.scratch, ldo);
  DotRowsOut<kRows>(d, d.scratch, ldo);
}

void DotRowsKN(const DotRowsArgs* args) {
  switch (args->m) {
    case 1:
      return DotRows<1>(*args);
    case 2:
      return DotRows<2>(*args);
    case 3:
      return DotRows<3>(*args);
    default:
      return DotRows<4>(*args);
  }
}

}  // namespace

namespace QGEMM_AVX512VNNI_NAMESPACE {
extern const KernelTable kTable;
const KernelTable kTable = {
    QGEMM_AVX512VNNI_ISA_NAME,
    /*packing_format=*/0xA5128432u,  // the same bytes in both builds
    kMR,
    kNR,
    kKR,
    APanelBytes,
    BPanelBytes,
    /*choose_variant=*/nullptr,
    PackA,
    PackB,
    /*b_packed_offset=*/{kBPackedOffset, 0},
    /*gemm_u8=*/{GemmU8, nullptr},
    /*gemm_s32=*/{GemmS32, nullptr},
    /*gemm_f32=*/{GemmF32, nullptr},
    /*dot_rows_kn=*/DotRowsKN,
    /*dot_rows_nr=*/kDotRowsNR,
    /*enable=*/nullptr,
    /*thread_begin=*/nullptr,
    /*thread_end=*/nullptr,
    /*sum_a_rows=*/SumARows,
};
}  // namespace QGEMM_AVX512VNNI_NAMESPACE

}  // namespace qgemm

// AVX2 packing of A and B into the panels gemm_6x16.cc draws, with the row
// and column sums computed on the way (sums of the original uint8 values,
// wrapping modulo 2^32 like the accumulators), and the pack-time choice of
// the kernel variant for B.
#include "kernels/avx2/pack.h"

#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace qgemm {
namespace avx2 {
namespace {

size_t RoundUp(size_t x, size_t r) { return (x + r - 1) / r * r; }

// Bytes one row of A occupies in one depth block of kKR, per variant.
size_t ARowBlockBytes(uint32_t variant) {
  return variant == kExactVariant ? 2 * kKR : kKR;
}

// Up to 8 bytes of a row, zero beyond n (never reads past p + n).
__m128i LoadUpTo8(const uint8_t* p, size_t n) {
  if (n >= 8) return _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
  uint8_t t[8] = {};
  std::memcpy(t, p, n);
  return _mm_loadl_epi64(reinterpret_cast<const __m128i*>(t));
}

// Up to 16 bytes of a row, zero beyond n (never reads past p + n).
__m128i LoadUpTo16(const uint8_t* p, size_t n) {
  if (n >= 16) return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  uint8_t t[16] = {};
  std::memcpy(t, p, n);
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(t));
}

// Sum of n bytes modulo 2^32.
int32_t SumBytes(const uint8_t* p, size_t n) {
  __m256i sums = _mm256_setzero_si256();
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256i x =
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i));
    sums = _mm256_add_epi64(sums, _mm256_sad_epu8(x, _mm256_setzero_si256()));
  }
  const __m128i s = _mm_add_epi64(_mm256_castsi256_si128(sums),
                                  _mm256_extracti128_si256(sums, 1));
  uint64_t total = static_cast<uint64_t>(_mm_cvtsi128_si64(s)) +
                   static_cast<uint64_t>(_mm_extract_epi64(s, 1));
  for (; i < n; ++i) total += p[i];
  return static_cast<int32_t>(static_cast<uint32_t>(total));
}

int PairDistance(uint8_t b0, uint8_t b1) {
  const int d0 = b0 - 128, d1 = b1 - 128;
  return (d0 < 0 ? -d0 : d0) + (d1 < 0 ? -d1 : d1);
}

void StoreColumnSums(__m256i lo, __m256i hi, size_t n_eff, int32_t* col_sums) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(col_sums), lo);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(col_sums + 8), hi);
  for (size_t j = n_eff; j < kNR; ++j) col_sums[j] = 0;
}

// Variant 0, B is k x n: per depth pair p, 32 bytes holding the byte pairs
// (b[2p][j], b[2p+1][j]) of columns 0..15 in order, so that one vpmovzxbw of
// each 16-byte half gives the int16 pairs of columns 0-7 / 8-15.
// Column sums: vpmaddubsw with ones adds each pair (<= 510) into 16-bit
// lanes, which take 64 pairs (<= 32640) before they are widened to int32.
void PackBExactKN(size_t k, size_t n_eff, const uint8_t* b, size_t ldb,
                  uint8_t* out, int32_t* col_sums) {
  const size_t pairs = RoundUp(k, kKR) / 2;
  const __m256i ones = _mm256_set1_epi8(1);
  __m256i sums16 = _mm256_setzero_si256();
  // int32 sums of columns 0-7 (low) and 8-15 (high).
  __m256i low = _mm256_setzero_si256(), high = _mm256_setzero_si256();
  for (size_t p = 0; p < pairs; ++p) {
    const size_t r = 2 * p;
    const __m128i x0 =
        r < k ? LoadUpTo16(b + r * ldb, n_eff) : _mm_setzero_si128();
    const __m128i x1 =
        r + 1 < k ? LoadUpTo16(b + (r + 1) * ldb, n_eff) : _mm_setzero_si128();
    const __m256i packed =
        _mm256_set_m128i(_mm_unpackhi_epi8(x0, x1), _mm_unpacklo_epi8(x0, x1));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 32 * p), packed);
    sums16 = _mm256_add_epi16(sums16, _mm256_maddubs_epi16(packed, ones));
    if ((p & 63) == 63 || p + 1 == pairs) {
      low = _mm256_add_epi32(
          low, _mm256_cvtepu16_epi32(_mm256_castsi256_si128(sums16)));
      high = _mm256_add_epi32(
          high, _mm256_cvtepu16_epi32(_mm256_extracti128_si256(sums16, 1)));
      sums16 = _mm256_setzero_si256();
    }
  }
  StoreColumnSums(low, high, n_eff, col_sums);
}

// Variant 1, B is k x n: per depth quad q, 64 bytes: columns 0..7 then
// 8..15, each column the 4 bytes b'[4q..4q+3][j] with b' = b - 128 (int8)
// and b' = 0 in the padding. Column sums: sum b = sum b' + 128 k, with the
// quad sums of b' (|.| <= 512) from vpmaddubsw and vpmaddwd.
void PackBNarrowKN(size_t k, size_t n_eff, const uint8_t* b, size_t ldb,
                   uint8_t* out, int32_t* col_sums) {
  const size_t quads = RoundUp(k, kKR) / 4;
  const __m128i flip = _mm_set1_epi8(static_cast<char>(0x80));
  const __m128i live = _mm_cmpgt_epi8(
      _mm_set1_epi8(static_cast<char>(n_eff)),
      _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
  const __m256i ones8 = _mm256_set1_epi8(1);
  const __m256i ones16 = _mm256_set1_epi16(1);
  __m256i lo = _mm256_setzero_si256(), hi = _mm256_setzero_si256();
  for (size_t q = 0; q < quads; ++q) {
    __m128i x[4];
    for (size_t r = 0; r < 4; ++r) {
      const size_t row = 4 * q + r;
      x[r] =
          row < k
              ? _mm_and_si128(
                    _mm_xor_si128(LoadUpTo16(b + row * ldb, n_eff), flip), live)
              : _mm_setzero_si128();
    }
    const __m128i p01lo = _mm_unpacklo_epi8(x[0], x[1]);
    const __m128i p23lo = _mm_unpacklo_epi8(x[2], x[3]);
    const __m128i p01hi = _mm_unpackhi_epi8(x[0], x[1]);
    const __m128i p23hi = _mm_unpackhi_epi8(x[2], x[3]);
    const __m256i cols0_7 = _mm256_set_m128i(_mm_unpackhi_epi16(p01lo, p23lo),
                                             _mm_unpacklo_epi16(p01lo, p23lo));
    const __m256i cols8_15 = _mm256_set_m128i(_mm_unpackhi_epi16(p01hi, p23hi),
                                              _mm_unpacklo_epi16(p01hi, p23hi));
    auto* dst = reinterpret_cast<__m256i*>(out + 64 * q);
    _mm256_storeu_si256(dst, cols0_7);
    _mm256_storeu_si256(dst + 1, cols8_15);
    lo = _mm256_add_epi32(
        lo, _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, cols0_7), ones16));
    hi = _mm256_add_epi32(
        hi, _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, cols8_15), ones16));
  }
  // uint32 arithmetic: 128 k wraps like the sums do.
  const __m256i bias =
      _mm256_set1_epi32(static_cast<int32_t>(static_cast<uint32_t>(k) * 128u));
  StoreColumnSums(_mm256_add_epi32(lo, bias), _mm256_add_epi32(hi, bias), n_eff,
                  col_sums);
}

// Both variants, B is n x k (row j of it is column j of the math B). Packing
// a weight matrix is done once, so plain per-column copies serve.
void PackBNK(uint32_t variant, size_t k, size_t n_eff, const uint8_t* b,
             size_t ldb, uint8_t* out, int32_t* col_sums) {
  const size_t k_padded = RoundUp(k, kKR);
  std::memset(out, 0, kNR * k_padded);
  for (size_t j = 0; j < kNR; ++j) col_sums[j] = 0;
  for (size_t j = 0; j < n_eff; ++j) {
    const uint8_t* col = b + j * ldb;
    col_sums[j] = SumBytes(col, k);
    if (variant == kExactVariant) {
      // Byte offset of column j's pair (see PackBExactKN).
      const size_t pos = 2 * j;
      for (size_t p = 0; 2 * p < k; ++p) {
        out[32 * p + pos] = col[2 * p];
        if (2 * p + 1 < k) out[32 * p + pos + 1] = col[2 * p + 1];
      }
    } else {
      uint8_t* dst = out + (j / 8) * 32 + (j % 8) * 4;
      size_t kk = 0;
      for (; kk + 4 <= k; kk += 4) {
        uint32_t w;
        std::memcpy(&w, col + kk, 4);
        w ^= 0x80808080u;
        std::memcpy(dst + 16 * kk, &w, 4);
      }
      for (; kk < k; ++kk) {
        dst[16 * (kk & ~size_t{3}) + (kk & 3)] =
            static_cast<uint8_t>(col[kk] ^ 0x80);
      }
    }
  }
}

// Variant 1 (and the avxvnni table), a full panel of kMR = 6 rows: the
// same bytes PackAPanel's row-by-row loop writes, 32 depths of all six rows
// at a time. A 32-depth chunk is four blocks of 6 x 8 bytes, 192 bytes in
// block order: unpacking the rows' 64-bit lanes in pairs and taking 128-bit
// halves of those gives the six 32-byte stores (24 8-byte stores row by
// row; packing A is about a tenth of a 3136x64x576 GEMM).
void PackANarrowFullPanel(size_t k, const uint8_t* a, size_t lda, uint8_t* out,
                          int32_t* row_sums) {
  static_assert(kMR == 6, "the transpose below is for six rows");
  constexpr size_t kBlockBytes = kMR * kKR;  // 48
  const size_t blocks = RoundUp(k, kKR) / kKR;
  const size_t chunks = k / 32;
  __m256i sums[kMR];
  for (size_t i = 0; i < kMR; ++i) sums[i] = _mm256_setzero_si256();
  // As in PackAPanel: the next panel's rows, addresses as integers.
  const uintptr_t next = reinterpret_cast<uintptr_t>(a) + kMR * lda;
  for (size_t c = 0; c < chunks; ++c) {
    const size_t d = 32 * c;
    if ((d & 63) == 0) {
      for (size_t i = 0; i < kMR; ++i) {
        // NOLINTNEXTLINE(performance-no-int-to-ptr)
        _mm_prefetch(reinterpret_cast<const char*>(next + i * lda + d),
                     _MM_HINT_T0);
      }
    }
    __m256i r[kMR];
    for (size_t i = 0; i < kMR; ++i) {
      r[i] =
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + i * lda + d));
      sums[i] = _mm256_add_epi64(sums[i],
                                 _mm256_sad_epu8(r[i], _mm256_setzero_si256()));
    }
    // Per 128-bit lane L: lo(x, y) = x.q[2L], y.q[2L]; hi: the odd ones.
    const __m256i lo01 = _mm256_unpacklo_epi64(r[0], r[1]);
    const __m256i hi01 = _mm256_unpackhi_epi64(r[0], r[1]);
    const __m256i lo23 = _mm256_unpacklo_epi64(r[2], r[3]);
    const __m256i hi23 = _mm256_unpackhi_epi64(r[2], r[3]);
    const __m256i lo45 = _mm256_unpacklo_epi64(r[4], r[5]);
    const __m256i hi45 = _mm256_unpackhi_epi64(r[4], r[5]);
    // Block j row i is r[i].q[j]; in memory: (block 0, rows 0..5),
    // (block 1, rows 0..5), ...
    __m256i* dst = reinterpret_cast<__m256i*>(out + 4 * kBlockBytes * c);
    _mm256_storeu_si256(dst + 0, _mm256_permute2x128_si256(lo01, lo23, 0x20));
    _mm256_storeu_si256(dst + 1, _mm256_permute2x128_si256(lo45, hi01, 0x20));
    _mm256_storeu_si256(dst + 2, _mm256_permute2x128_si256(hi23, hi45, 0x20));
    _mm256_storeu_si256(dst + 3, _mm256_permute2x128_si256(lo01, lo23, 0x31));
    _mm256_storeu_si256(dst + 4, _mm256_permute2x128_si256(lo45, hi01, 0x31));
    _mm256_storeu_si256(dst + 5, _mm256_permute2x128_si256(hi23, hi45, 0x31));
  }
  for (size_t i = 0; i < kMR; ++i) {
    const uint8_t* row = a + i * lda;
    // The rest of the row, one block (8 depths, zero-padded) at a time.
    __m128i sum = _mm_add_epi64(_mm256_castsi256_si128(sums[i]),
                                _mm256_extracti128_si256(sums[i], 1));
    for (size_t blk = 4 * chunks; blk < blocks; ++blk) {
      const __m128i x = LoadUpTo8(row + blk * kKR, k - blk * kKR);
      sum = _mm_add_epi64(sum, _mm_sad_epu8(x, _mm_setzero_si128()));
      _mm_storel_epi64(
          reinterpret_cast<__m128i*>(out + blk * kBlockBytes + i * kKR), x);
    }
    const uint64_t total = static_cast<uint64_t>(_mm_cvtsi128_si64(sum)) +
                           static_cast<uint64_t>(_mm_extract_epi64(sum, 1));
    row_sums[i] = static_cast<int32_t>(static_cast<uint32_t>(total));
  }
}

}  // namespace

size_t APanelBytes(size_t k_padded) { return kMR * 2 * k_padded; }
size_t BPanelBytes(size_t k_padded) { return kNR * k_padded; }

// The narrow variant sums, for every column j and every even depth k, the
// pair b[k][j], b[k+1][j] in one vpmaddubsw lane (the K tail pads with
// b' = 0). It is chosen only when every such pair with k + 1 < K has
// |b0 - 128| + |b1 - 128| <= 128; a lone last entry (K odd) pairs with the
// padding and always qualifies.
uint32_t ChooseVariant(size_t k, size_t n, const uint8_t* b, size_t ldb,
                       int nk_layout) {
  const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
  if (!nk_layout) {
    const __m256i limit = _mm256_set1_epi8(static_cast<char>(128));
    for (size_t r = 0; r + 1 < k; r += 2) {
      const uint8_t* r0 = b + r * ldb;
      const uint8_t* r1 = r0 + ldb;
      size_t j = 0;
      for (; j + 32 <= n; j += 32) {
        // |b - 128| as uint8 (abs of -128 is 0x80 = 128 unsigned).
        const __m256i d0 = _mm256_abs_epi8(_mm256_xor_si256(
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r0 + j)),
            flip));
        const __m256i d1 = _mm256_abs_epi8(_mm256_xor_si256(
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r1 + j)),
            flip));
        const __m256i over = _mm256_subs_epu8(_mm256_adds_epu8(d0, d1), limit);
        if (!_mm256_testz_si256(over, over)) return kExactVariant;
      }
      for (; j < n; ++j) {
        if (PairDistance(r0[j], r1[j]) > 128) return kExactVariant;
      }
    }
  } else {
    const __m256i ones = _mm256_set1_epi8(1);
    const __m256i limit = _mm256_set1_epi16(128);
    for (size_t j = 0; j < n; ++j) {
      const uint8_t* col = b + j * ldb;
      size_t r = 0;
      for (; r + 32 <= k; r += 32) {
        const __m256i d = _mm256_abs_epi8(_mm256_xor_si256(
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(col + r)),
            flip));
        // Adjacent-byte sums (r even): at most 256, exact in int16.
        const __m256i s = _mm256_maddubs_epi16(d, ones);
        const __m256i over = _mm256_cmpgt_epi16(s, limit);
        if (!_mm256_testz_si256(over, over)) return kExactVariant;
      }
      for (; r + 1 < k; r += 2) {
        if (PairDistance(col[r], col[r + 1]) > 128) return kExactVariant;
      }
    }
  }
  return kNarrowVariant;
}

void PackAPanel(uint32_t variant, size_t k, size_t m_eff, const uint8_t* a,
                size_t lda, void* panel, int32_t* row_sums) {
  if (variant == kNarrowVariant && m_eff == kMR) {
    PackANarrowFullPanel(k, a, lda, static_cast<uint8_t*>(panel), row_sums);
    return;
  }
  const size_t blocks = RoundUp(k, kKR) / kKR;
  const size_t row_bytes = ARowBlockBytes(variant);
  // A block holds the m_eff live rows only (the kernel for m_eff rows reads
  // nothing else); the rest of the panel is zeroed.
  const size_t block_bytes = m_eff * row_bytes;
  auto* out = static_cast<uint8_t*>(panel);
  if (m_eff < kMR) {
    std::memset(out + blocks * block_bytes, 0,
                blocks * (kMR - m_eff) * row_bytes);
  }
  for (size_t i = 0; i < kMR; ++i) {
    uint8_t* dst = out + i * row_bytes;
    if (i >= m_eff) {
      row_sums[i] = 0;
      continue;
    }
    const uint8_t* row = a + i * lda;
    // The driver packs panels one after another: fetch this row of the next
    // panel while this one is packed (prefetches never fault). The address
    // is computed as an integer: past A's last row (any lda is valid for a
    // single row) a pointer may not even be formed.
    const uintptr_t next_row = reinterpret_cast<uintptr_t>(row) + kMR * lda;
    for (size_t off = 0; off < k; off += 64) {
      // NOLINTNEXTLINE(performance-no-int-to-ptr)
      _mm_prefetch(reinterpret_cast<const char*>(next_row + off), _MM_HINT_T0);
    }
    __m256i sums = _mm256_setzero_si256();
    size_t blk = 0;
    // Four depth blocks (32 bytes of the row) per step.
    for (; blk + 4 <= k / kKR; blk += 4) {
      const __m256i x =
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + blk * kKR));
      sums = _mm256_add_epi64(sums, _mm256_sad_epu8(x, _mm256_setzero_si256()));
      uint8_t* d = dst + blk * block_bytes;
      if (variant == kExactVariant) {
        const __m256i lo = _mm256_cvtepu8_epi16(_mm256_castsi256_si128(x));
        const __m256i hi = _mm256_cvtepu8_epi16(_mm256_extracti128_si256(x, 1));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(d),
                         _mm256_castsi256_si128(lo));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(d + block_bytes),
                         _mm256_extracti128_si256(lo, 1));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(d + 2 * block_bytes),
                         _mm256_castsi256_si128(hi));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(d + 3 * block_bytes),
                         _mm256_extracti128_si256(hi, 1));
      } else {
        const __m128i lo = _mm256_castsi256_si128(x);
        const __m128i hi = _mm256_extracti128_si256(x, 1);
        _mm_storel_epi64(reinterpret_cast<__m128i*>(d), lo);
        _mm_storeh_pd(reinterpret_cast<double*>(d + block_bytes),
                      _mm_castsi128_pd(lo));
        _mm_storel_epi64(reinterpret_cast<__m128i*>(d + 2 * block_bytes), hi);
        _mm_storeh_pd(reinterpret_cast<double*>(d + 3 * block_bytes),
                      _mm_castsi128_pd(hi));
      }
    }
    __m128i sum = _mm_add_epi64(_mm256_castsi256_si128(sums),
                                _mm256_extracti128_si256(sums, 1));
    for (; blk < blocks; ++blk) {
      const __m128i x = LoadUpTo8(row + blk * kKR, k - blk * kKR);
      sum = _mm_add_epi64(sum, _mm_sad_epu8(x, _mm_setzero_si128()));
      if (variant == kExactVariant) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + blk * block_bytes),
                         _mm_cvtepu8_epi16(x));
      } else {
        _mm_storel_epi64(reinterpret_cast<__m128i*>(dst + blk * block_bytes),
                         x);
      }
    }
    const uint64_t total = static_cast<uint64_t>(_mm_cvtsi128_si64(sum)) +
                           static_cast<uint64_t>(_mm_extract_epi64(sum, 1));
    row_sums[i] = static_cast<int32_t>(static_cast<uint32_t>(total));
  }
}

void PackBPanel(uint32_t variant, size_t k, size_t n_eff, const uint8_t* b,
                size_t ldb, int nk_layout, void* panel, int32_t* col_sums) {
  auto* out = static_cast<uint8_t*>(panel);
  if (nk_layout) {
    PackBNK(variant, k, n_eff, b, ldb, out, col_sums);
  } else if (variant == kExactVariant) {
    PackBExactKN(k, n_eff, b, ldb, out, col_sums);
  } else {
    PackBNarrowKN(k, n_eff, b, ldb, out, col_sums);
  }
}

}  // namespace avx2
}  // namespace qgemm

// AVX2 dot-rows kernel for few rows of A against an unpacked k x n B, the
// DotRowsFn of kernel_table.h (also avx512vnni's): first the sums
//   sums[i][j] = sum_k (a[i][k] - za) * b[k][j]   (mod 2^32), i < m <= 4,
// into the scratch, then the output stage of the 6x16 tiles
// (output_stage.h) on them, 16 columns at a time, into C.
// The driver uses it where packing B would cost more than the product (a
// GEMV packs all of B to use each byte once): B is read in place, a pair of
// depth rows at a time along their whole width, which the prefetchers
// follow; the m x n int32 sums stay in L1/L2 (the driver's column block).
//
// Step (depth rows k, k+1; 32 columns j..j+31):
//   x0 = b[k][j..j+31], x1 = b[k+1][j..j+31]            2 loads
//   lo = vpunpcklbw(x0, x1), hi = vpunpckhbw(x0, x1)   byte pairs, in-lane:
//     lo = cols 0-7 | cols 16-23, hi = cols 8-15 | cols 24-31
//   p0..p3 = vpmovzxbw of the four 128-bit halves      int16 pairs
//   for each row i:  A_i = (a[i][k] - za, a[i][k+1] - za) in every dword
//     out[i][8q..8q+7] += vpmaddwd(p_q, A_i)           q = 0..3
// vpmaddwd multiplies signed int16: |a - za| <= 255 and 0 <= b <= 255, so
// each pair sum is at most 2 * 255 * 255 = 130050 in magnitude, exact in
// int32; vpaddd wraps like the accumulator (docs/design.md,
// "Accumulation"). Folding za into A is why no column sums of B are needed:
// the driver's row_offset subtracts zb * sum_k (a[i][k] - za) and
// col_offset adds the bias.
// An odd last depth row pairs with zeros; the last n % 32 columns go
// through a zero-padded copy, so no byte outside B is read.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/avx2/output_stage.h"
#include "kernels/avx2/pack.h"

namespace qgemm {
namespace avx2 {
namespace {

// The (a[i][k] - za, a[i][k+1] - za) int16 pair of each row, broadcast.
template <int kRows>
void LoadAPairs(const uint8_t* a, size_t lda, size_t k, bool has_next,
                int32_t za, __m256i (&pairs)[4]) {
  for (int i = 0; i < kRows; ++i) {
    const uint8_t* row = a + static_cast<size_t>(i) * lda;
    const int32_t lo = row[k] - za;
    const int32_t hi = has_next ? row[k + 1] - za : 0;
    pairs[i] = _mm256_set1_epi32(
        static_cast<int32_t>((static_cast<uint32_t>(lo) & 0xFFFFu) |
                             (static_cast<uint32_t>(hi) << 16)));
  }
}

// Adds one depth pair of 32 columns (x0, x1: the two rows' bytes) into the
// sums of kRows rows at out + j (row stride ldo).
template <int kRows>
inline void Accumulate32(__m256i x0, __m256i x1, const __m256i (&pairs)[4],
                         int32_t* out, size_t ldo) {
  const __m256i lo = _mm256_unpacklo_epi8(x0, x1);
  const __m256i hi = _mm256_unpackhi_epi8(x0, x1);
  const __m256i p[4] = {
      _mm256_cvtepu8_epi16(_mm256_castsi256_si128(lo)),
      _mm256_cvtepu8_epi16(_mm256_castsi256_si128(hi)),
      _mm256_cvtepu8_epi16(_mm256_extracti128_si256(lo, 1)),
      _mm256_cvtepu8_epi16(_mm256_extracti128_si256(hi, 1)),
  };
  for (int i = 0; i < kRows; ++i) {
    int32_t* o = out + static_cast<size_t>(i) * ldo;
    for (int q = 0; q < 4; ++q) {
      auto* v = reinterpret_cast<__m256i*>(o + 8 * q);
      _mm256_storeu_si256(v,
                          _mm256_add_epi32(_mm256_loadu_si256(v),
                                           _mm256_madd_epi16(p[q], pairs[i])));
    }
  }
}

// The sums of kRows rows over all k, n columns, into out (row stride ldo,
// written up to n rounded up to 32).
template <int kRows>
void AccumulateSums(size_t k, size_t n, const uint8_t* a, size_t lda,
                    uint8_t za, const uint8_t* b, size_t ldb, int32_t* out,
                    size_t ldo) {
  const size_t n_full = n / 32 * 32, tail = n - n_full;
  for (int i = 0; i < kRows; ++i) {
    std::memset(out + static_cast<size_t>(i) * ldo, 0,
                (n_full + (tail ? 32 : 0)) * sizeof(int32_t));
  }
  __m256i pairs[4];
  for (size_t kk = 0; kk < k; kk += 2) {
    const bool has_next = kk + 1 < k;
    LoadAPairs<kRows>(a, lda, kk, has_next, za, pairs);
    const uint8_t* r0 = b + kk * ldb;
    // No pointer to a row k + 1 that does not exist is formed.
    const uint8_t* r1 = has_next ? r0 + ldb : nullptr;
    // The same columns of the pair two steps ahead: rows ldb apart are too
    // far apart for the hardware prefetchers, which left the loads waiting
    // more than half of the time (1x4096x4096: 17 -> 27-35 GOP/s; 4 pairs
    // ahead was no better).
    // Integers, not pointers: rows past B's end are harmless to prefetch
    // (it never faults) but not to point at.
    const uintptr_t ahead = reinterpret_cast<uintptr_t>(r0) + 4 * ldb;
    size_t j = 0;
    for (; j < n_full; j += 32) {
      if ((j & 63) == 0) {
        const uintptr_t line = ahead + j;
        // NOLINTNEXTLINE(performance-no-int-to-ptr)
        _mm_prefetch(reinterpret_cast<const char*>(line), _MM_HINT_T0);
        // NOLINTNEXTLINE(performance-no-int-to-ptr)
        _mm_prefetch(reinterpret_cast<const char*>(line + ldb), _MM_HINT_T0);
      }
      const __m256i x0 =
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r0 + j));
      const __m256i x1 =
          r1 ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r1 + j))
             : _mm256_setzero_si256();
      Accumulate32<kRows>(x0, x1, pairs, out + j, ldo);
    }
    if (tail) {
      alignas(32) uint8_t t0[32] = {}, t1[32] = {};
      std::memcpy(t0, r0 + j, tail);
      if (r1) std::memcpy(t1, r1 + j, tail);
      Accumulate32<kRows>(_mm256_load_si256(reinterpret_cast<__m256i*>(t0)),
                          _mm256_load_si256(reinterpret_cast<__m256i*>(t1)),
                          pairs, out + j, ldo);
    }
  }
}

// C from the sums (row stride ldo), 16 columns per output-stage call.
template <int kRows, OutputKind kOutput>
void StoreC(const DotRowsArgs& d, const int32_t* sums, size_t ldo) {
  TileArgs t{};
  t.row_offset = d.row_offset;
  t.clamp = d.clamp;
  t.ldc = d.ldc;
  t.m_eff = kRows;
  for (size_t j = 0; j < d.n; j += 16) {
    Tile16 acc;
    for (int i = 0; i < kRows; ++i) {
      const int32_t* row = sums + static_cast<size_t>(i) * ldo + j;
      acc[i][0] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row));
      acc[i][1] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + 8));
    }
    t.cols = {d.cols.col_offset + j, d.cols.multiplier + j,
              d.cols.left_shift + j, d.cols.right_shift + j,
              d.cols.scale + j,      d.cols.bias_f + j};
    t.n_eff = d.n - j < 16 ? d.n - j : 16;
    if (kOutput == OutputKind::kUint8) {
      t.c = static_cast<uint8_t*>(d.c) + j;
      StoreTileU8<kRows>(t, acc);
    } else if (kOutput == OutputKind::kInt32) {
      t.c = static_cast<int32_t*>(d.c) + j;
      StoreTileS32<kRows>(t, acc);
    } else {
      t.c = static_cast<float*>(d.c) + j;
      StoreTileF32<kRows>(t, acc);
    }
  }
}

template <int kRows>
void DotRows(const DotRowsArgs& d) {
  const size_t ldo = (d.n + kDotRowsNR - 1) / kDotRowsNR * kDotRowsNR;
  AccumulateSums<kRows>(d.k, d.n, d.a, d.lda, d.za, d.b, d.ldb, d.scratch, ldo);
  switch (d.output) {
    case OutputKind::kUint8:
      return StoreC<kRows, OutputKind::kUint8>(d, d.scratch, ldo);
    case OutputKind::kInt32:
      return StoreC<kRows, OutputKind::kInt32>(d, d.scratch, ldo);
    case OutputKind::kFloat:
      return StoreC<kRows, OutputKind::kFloat>(d, d.scratch, ldo);
  }
}

}  // namespace

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

}  // namespace avx2
}  // namespace qgemm

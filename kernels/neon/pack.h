// NEON packing shared by kernels/neon/ and kernels/neondot/ (baseline NEON
// code, no extension instructions). Declarations only.
//
// Depth-grouped panel layout, G = 16 (umull kernel; 8 on AArch32) or 4
// (udot kernel):
//
//   panel byte  (p / G) * R * G  +  r * G  +  p % G     for depth p, line r
//
//   i.e. for each group of G depth steps, R lines (rows of A or columns of
//   B) of G consecutive bytes each:
//       [line 0: p0..pG-1][line 1: p0..pG-1] ... [line R-1: p0..pG-1]
//
// Depth is padded with zeros to a multiple of G, lines past the live ones
// are zero. The sums are the exact uint8 sums of each live line modulo 2^32
// (zero for padding lines), which is what the kernel-table offsets expect.
#ifndef QGEMM_KERNELS_NEON_PACK_H_
#define QGEMM_KERNELS_NEON_PACK_H_

#include <cstddef>
#include <cstdint>

#include "dispatch/kernel_table.h"

namespace qgemm {
namespace neon {

// PackColumnLines sums the lines on its stack: lines <= kMaxColumnLines
// (static_asserted by every table that packs with it, kernels/neon/
// line_kernel.h).
constexpr size_t kMaxColumnLines = 16;

// Lines are rows of a row-major matrix: line r is src[r * ld + p] (A, or B
// in the n x k layout). Instantiated for G = 4, 8 and 16.
template <size_t G>
void PackRowLines(size_t lines, size_t k, size_t lines_eff, const uint8_t* src,
                  size_t ld, uint8_t* panel, int32_t* sums);

// Lines are columns of a row-major k x n matrix: line c is src[p * ld + c]
// (B in the k x n layout). Instantiated for G = 4, 8 and 16.
template <size_t G>
void PackColumnLines(size_t lines, size_t k, size_t lines_eff,
                     const uint8_t* src, size_t ld, uint8_t* panel,
                     int32_t* sums);
// G = 4 transposes 4 x 16 blocks, G = 8 (up to 8 lines) 8 x 8 blocks, with
// NEON zips (pack.cc).
template <>
void PackColumnLines<4>(size_t lines, size_t k, size_t lines_eff,
                        const uint8_t* src, size_t ld, uint8_t* panel,
                        int32_t* sums);
template <>
void PackColumnLines<8>(size_t lines, size_t k, size_t lines_eff,
                        const uint8_t* src, size_t ld, uint8_t* panel,
                        int32_t* sums);

// dot_rows_4x16.cc: the DotRowsFn of kernel_table.h (also neondot's),
// columns in steps of kDotRowsNR.
constexpr uint32_t kDotRowsNR = 16;
void DotRowsKN(const DotRowsArgs* args);

}  // namespace neon
}  // namespace qgemm

#endif  // QGEMM_KERNELS_NEON_PACK_H_

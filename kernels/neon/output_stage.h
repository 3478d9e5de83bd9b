// The NEON output stage on sums in memory (baseline NEON code), for the
// dot-rows kernel (dot_rows_4x16.cc), which keeps its sums in scratch; the
// micro-kernels use its register form, register_output.h. Declarations
// only.
//
// The caller leaves raw sums sum_k a*b' (uint32 wrapped, read as int32) in a
// row-major array, row i at sums + i * ld_sums (NR entries each; ld_sums is
// the dot-rows kernel's row stride); these functions add the row and column
// offsets of TileArgs and write rows [0, m_eff) x columns [0, n_eff) of C. NR
// is a multiple of 4; the column parameters hold NR entries. Only row_offset,
// cols, clamp, c, ldc, m_eff and n_eff of TileArgs are read.
#ifndef QGEMM_KERNELS_NEON_OUTPUT_STAGE_H_
#define QGEMM_KERNELS_NEON_OUTPUT_STAGE_H_

#include <cstddef>
#include <cstdint>

#include "dispatch/kernel_table.h"

namespace qgemm {
namespace neon {

// uint8 C through the output stage of docs/design.md. Instantiated for NR = 16.
template <size_t NR>
void StoreTileU8(const int32_t* sums, size_t ld_sums, const TileArgs& t);

// int32 C: the offset sums themselves. Instantiated for NR = 16.
template <size_t NR>
void StoreTileS32(const int32_t* sums, size_t ld_sums, const TileArgs& t);

// float C: fmaf((float) x, scale[j], bias_f[j]) on the offset sums x.
// Instantiated for NR = 16.
template <size_t NR>
void StoreTileF32(const int32_t* sums, size_t ld_sums, const TileArgs& t);

}  // namespace neon
}  // namespace qgemm

#endif  // QGEMM_KERNELS_NEON_OUTPUT_STAGE_H_

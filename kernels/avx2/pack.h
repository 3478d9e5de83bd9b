// AVX2 packing: declarations only (the definitions live in pack.cc, compiled
// with -mavx2). The packed layouts are drawn in gemm_6x16.cc.
#ifndef QGEMM_KERNELS_AVX2_PACK_H_
#define QGEMM_KERNELS_AVX2_PACK_H_

#include <cstddef>
#include <cstdint>

#include "dispatch/kernel_table.h"

namespace qgemm {
namespace avx2 {

constexpr size_t kMR = 6;
constexpr size_t kNR = 16;
constexpr size_t kKR = 8;

// Variant 0: exact for all uint8 data (vpmaddwd on zero-extended int16).
// Variant 1: vpmaddubsw on u8 A x s8 (b - 128), exact only for B whose
// every summed pair satisfies |b0 - 128| + |b1 - 128| <= 128.
constexpr uint32_t kExactVariant = 0;
constexpr uint32_t kNarrowVariant = 1;

size_t APanelBytes(size_t k_padded);
size_t BPanelBytes(size_t k_padded);
// dot_rows_4x32.cc: DotRowsFn of kernel_table.h, columns in steps of
// kDotRowsNR.
constexpr uint32_t kDotRowsNR = 32;
void DotRowsKN(const DotRowsArgs* args);
uint32_t ChooseVariant(size_t k, size_t n, const uint8_t* b, size_t ldb,
                       int nk_layout);
void PackAPanel(uint32_t variant, size_t k, size_t m_eff, const uint8_t* a,
                size_t lda, void* panel, int32_t* row_sums);
void PackBPanel(uint32_t variant, size_t k, size_t n_eff, const uint8_t* b,
                size_t ldb, int nk_layout, void* panel, int32_t* col_sums);

}  // namespace avx2
}  // namespace qgemm

#endif  // QGEMM_KERNELS_AVX2_PACK_H_

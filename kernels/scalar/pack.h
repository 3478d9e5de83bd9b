// Scalar packing helpers shared by the scalar table (baseline code only).
#ifndef QGEMM_KERNELS_SCALAR_PACK_H_
#define QGEMM_KERNELS_SCALAR_PACK_H_

#include <cstddef>
#include <cstdint>

namespace qgemm {
namespace scalar {

// PackBPanel sums a k x n B's columns on its stack: nr <= kMaxPackNR
// (static_asserted by every table that packs with it).
constexpr size_t kMaxPackNR = 64;

void PackAPanel(size_t mr, size_t k, size_t m_eff, const uint8_t* a, size_t lda,
                uint8_t* panel, int32_t* row_sums);
void PackBPanel(size_t nr, size_t k, size_t n_eff, const uint8_t* b, size_t ldb,
                int nk_layout, uint8_t* panel, int32_t* col_sums);

}  // namespace scalar
}  // namespace qgemm

#endif  // QGEMM_KERNELS_SCALAR_PACK_H_

// Scalar packing. Panels are plain uint8, KR = 1:
//   A panel (MR rows):    a[k][i] at byte k * MR + i
//   B panel (NR columns): b[k][j] at byte k * NR + j
// Row and column sums are int32 sums that wrap modulo 2^32 by design (uint32
// arithmetic); the offset identities of kernel_table.h hold modulo 2^32.
#include "kernels/scalar/pack.h"

#include <cstring>

namespace qgemm {
namespace scalar {

void PackAPanel(size_t mr, size_t k, size_t m_eff, const uint8_t* a, size_t lda,
                uint8_t* panel, int32_t* row_sums) {
  std::memset(panel, 0, mr * k);
  for (size_t i = 0; i < mr; ++i) {
    uint32_t sum = 0;
    if (i < m_eff) {
      const uint8_t* row = a + i * lda;
      for (size_t p = 0; p < k; ++p) {
        panel[p * mr + i] = row[p];
        sum += row[p];
      }
    }
    row_sums[i] = static_cast<int32_t>(sum);
  }
}

void PackBPanel(size_t nr, size_t k, size_t n_eff, const uint8_t* b, size_t ldb,
                int nk_layout, uint8_t* panel, int32_t* col_sums) {
  std::memset(panel, 0, nr * k);
  for (size_t j = 0; j < nr; ++j) col_sums[j] = 0;
  if (nk_layout) {
    for (size_t j = 0; j < n_eff; ++j) {
      const uint8_t* col = b + j * ldb;
      uint32_t sum = 0;
      for (size_t p = 0; p < k; ++p) {
        panel[p * nr + j] = col[p];
        sum += col[p];
      }
      col_sums[j] = static_cast<int32_t>(sum);
    }
  } else {
    uint32_t sums[kMaxPackNR] = {};
    for (size_t p = 0; p < k; ++p) {
      const uint8_t* row = b + p * ldb;
      for (size_t j = 0; j < n_eff; ++j) {
        panel[p * nr + j] = row[j];
        sums[j] += row[j];
      }
    }
    for (size_t j = 0; j < n_eff; ++j) {
      col_sums[j] = static_cast<int32_t>(sums[j]);
    }
  }
}

}  // namespace scalar
}  // namespace qgemm

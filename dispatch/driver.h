// The blocked GEMM driver. It knows nothing about any ISA: it walks cache
// blocks and threads and calls the kernel table.
#ifndef QGEMM_DISPATCH_DRIVER_H_
#define QGEMM_DISPATCH_DRIVER_H_

#include <qgemm/qgemm.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "dispatch/context.h"
#include "dispatch/kernel_table.h"

namespace qgemm {

// Packed B as the driver reads it: num_panels panels of panel_bytes each.
struct PackedBView {
  const KernelTable* table;
  uint32_t variant;
  size_t k, n, k_padded;
  size_t panel_bytes, num_panels;
  const uint8_t* panels;
  const int32_t* col_sums;  // num_panels * NR entries
  uint8_t zero_point;
};

// What one call computes and where it goes. The fields of other kinds are
// ignored (zero or null).
struct OutputSpec {
  OutputKind kind;
  const int32_t* bias;        // kUint8, kInt32; may be null
  const int32_t* multiplier;  // kUint8
  const int32_t* shift;       // kUint8
  bool per_channel;           // kUint8 (multiplier, shift), kFloat (b_scale)
  int32_t c_zero_point, c_min, c_max;  // kUint8
  float a_scale;                       // kFloat
  const float* b_scale;                // kFloat
  const float* bias_f;                 // kFloat; may be null
  void* c;
  size_t ldc;  // in elements
};

// Bytes of one element of C for an output kind.
size_t OutputElementBytes(OutputKind kind);

// The rules every kernel table obeys, which the driver relies on without
// checking again: tile sizes within the driver's limits, KR dividing the
// depth of the B chunks it packs, every required function present, variants
// complete. Reads fields only: no code of the ISA runs. Dispatch refuses a
// table that breaks one (with this message), and a test checks every table.
bool CheckKernelTable(const KernelTable& table, std::string* why);

// Test-only: with on, every call splits into as many slots as the
// context has threads and the problem has panels, however small it is
// (the cost model would keep it on the calling thread), so that tests of
// small problems run every split path.
void SplitEveryCallForTesting(bool on);

// Sizes of the packed form of a k x n B for table; false if they overflow.
bool PackedBSizes(const KernelTable& table, size_t k, size_t n,
                  size_t* k_padded, size_t* num_panels, size_t* panel_bytes,
                  size_t* total_bytes);

// Packs B into panels and col_sums (sized by PackedBSizes), in parallel on
// ctx's threads when ctx is not null. Returns the variant chosen.
uint32_t PackB(qgemm_context* ctx, const KernelTable& table, size_t k, size_t n,
               const uint8_t* b, size_t ldb, int nk_layout, uint8_t* panels,
               int32_t* col_sums);

// C = output(A x packed B). Arguments are valid (checked by the API);
// returns QGEMM_OK, or QGEMM_OUT_OF_MEMORY with C untouched.
qgemm_status RunGemm(qgemm_context* ctx, size_t m, const uint8_t* a, size_t lda,
                     uint8_t a_zero_point, const PackedBView& b,
                     const OutputSpec& out);

// Same for an unpacked k x n row-major B: each slot packs the B panels of
// the columns it runs itself (and keeps them where its kernels read them).
// Returns QGEMM_INVALID_ARGUMENT when k x n is too large to pack
// (PackedBSizes), else as RunGemm.
qgemm_status RunGemmUnpacked(qgemm_context* ctx, size_t m, size_t n, size_t k,
                             const uint8_t* a, size_t lda, uint8_t a_zero_point,
                             const uint8_t* b, size_t ldb, uint8_t b_zero_point,
                             const OutputSpec& out);

// Whether RunDotRows serves an unpacked k x n B with m rows of A on table.
bool UseDotRows(const KernelTable& table, size_t m, size_t k);

// C = output(A x B) for an unpacked k x n row-major B, read in place by the
// table's dot_rows_kn (UseDotRows must hold). Same contract as RunGemm.
qgemm_status RunDotRows(qgemm_context* ctx, size_t m, size_t n, size_t k,
                        const uint8_t* a, size_t lda, uint8_t a_zero_point,
                        const uint8_t* b, size_t ldb, uint8_t b_zero_point,
                        const OutputSpec& out);

}  // namespace qgemm

#endif  // QGEMM_DISPATCH_DRIVER_H_

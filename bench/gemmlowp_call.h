// The boundary between gemmlowp_rows.cc (baseline flags) and gemmlowp_call.cc
// (compiled with -mavx2 -DGEMMLOWP_ENABLE_AVX2 on x86-64 so that gemmlowp
// uses its AVX2 kernel). Declaration-only: nothing here produces code that
// the linker could merge with an AVX2 copy (docs/design.md, "Building
// per-ISA code").
#ifndef QGEMM_BENCH_GEMMLOWP_CALL_H_
#define QGEMM_BENCH_GEMMLOWP_CALL_H_

#include <cstddef>
#include <cstdint>

namespace qgemm_bench {

struct GemmlowpRunner;
GemmlowpRunner* GemmlowpCreate(int threads);
void GemmlowpDestroy(GemmlowpRunner* r);
// C (m x n row-major) = gemmlowp's uint8 pipeline over A (m x k row-major)
// and B given as n x k row-major (gemmlowp's column-major k x n RHS):
// ScaleInt32ByFixedPointAndExponent(M0, shift, zc), clamp [0, 255],
// saturating cast to uint8: the same numerics as qgemm.
void GemmlowpRun(GemmlowpRunner* r, size_t m, size_t n, size_t k,
                 const uint8_t* a, uint8_t za, const uint8_t* b_nk, uint8_t zb,
                 int32_t multiplier, int32_t shift, int32_t zc, uint8_t* c);
// Whether the build uses gemmlowp's AVX2 kernel (the CPU must have AVX2).
bool GemmlowpNeedsAvx2();

}  // namespace qgemm_bench

#endif  // QGEMM_BENCH_GEMMLOWP_CALL_H_

// gemmlowp behind a raw-pointer interface. On x86-64 this file alone is
// compiled with -mavx2 -DGEMMLOWP_ENABLE_AVX2 (gemmlowp picks its kernel at
// compile time); gemmlowp_rows.cc calls it only when the CPU has AVX2. It is
// linked last so that the linker keeps the baseline copies of any inline
// standard-library code both sides instantiate.
#include "gemmlowp_call.h"

#include <gemmlowp/public/gemmlowp.h>

#include <tuple>

namespace qgemm_bench {

struct GemmlowpRunner {
  gemmlowp::GemmContext context;
};

GemmlowpRunner* GemmlowpCreate(int threads) {
  auto* r = new GemmlowpRunner;
  r->context.set_max_num_threads(threads);
  return r;
}

void GemmlowpDestroy(GemmlowpRunner* r) { delete r; }

void GemmlowpRun(GemmlowpRunner* r, size_t m, size_t n, size_t k,
                 const uint8_t* a, uint8_t za, const uint8_t* b_nk, uint8_t zb,
                 int32_t multiplier, int32_t shift, int32_t zc, uint8_t* c) {
  const int mi = static_cast<int>(m), ni = static_cast<int>(n),
            ki = static_cast<int>(k);
  gemmlowp::MatrixMap<const uint8_t, gemmlowp::MapOrder::RowMajor> lhs(a, mi,
                                                                       ki, ki);
  gemmlowp::MatrixMap<const uint8_t, gemmlowp::MapOrder::ColMajor> rhs(b_nk, ki,
                                                                       ni, ki);
  gemmlowp::MatrixMap<uint8_t, gemmlowp::MapOrder::RowMajor> result(c, mi, ni,
                                                                    ni);
  gemmlowp::OutputStageScaleInt32ByFixedPointAndExponent scale;
  scale.result_fixedpoint_multiplier = multiplier;
  scale.result_exponent = shift;
  scale.result_offset_after_shift = zc;
  gemmlowp::OutputStageClamp clamp;
  clamp.min = 0;
  clamp.max = 255;
  gemmlowp::OutputStageSaturatingCastToUint8 cast;
  const auto pipeline = std::make_tuple(scale, clamp, cast);
  // gemmlowp's offsets are added: -zero_point.
  gemmlowp::GemmWithOutputPipeline<uint8_t, uint8_t,
                                   gemmlowp::DefaultL8R8BitDepthParams>(
      &r->context, lhs, rhs, &result, -static_cast<int>(za),
      -static_cast<int>(zb), pipeline);
}

bool GemmlowpNeedsAvx2() {
#if defined(GEMMLOWP_AVX2)
  return true;
#else
  return false;
#endif
}

}  // namespace qgemm_bench

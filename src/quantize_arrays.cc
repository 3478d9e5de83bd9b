// Float <-> uint8 array helpers (quantize, dequantize, fake_quantize),
// written once with xsimd for the target's compile baseline
// (xsimd::default_arch: SSE2 on x86-64, neon64 on aarch64), plus a scalar
// tail through the *_value functions of <qgemm/quantization.hpp>, which are
// the definition: the vector lanes compute the same IEEE operations in the
// same order, so every element is bit-identical to the scalar form.
//
// Where the vector path is off (scalar loop only):
//   - armv7 / armhf: the baseline may have no NEON at all, and where it has
//     (-mfpu=neon) NEON has no float division (xsimd divides by a
//     reciprocal estimate) and flushes denormals; neither is IEEE, so the
//     bits would differ from the definition.
//   - any target xsimd 8.1.0 knows no architecture for.
// On aarch64, xsimd 8.1.0's batch<float, neon64> division is also the
// reciprocal estimate inherited from neon; Divide() below uses the IEEE
// vdivq_f32 there instead.
//
// This file is compiled with the library's baseline flags only: no ISA
// beyond the baseline runs here, so it needs no dispatch.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <qgemm/quantization.hpp>
#include <string>
#include <xsimd/config/xsimd_config.hpp>

#if XSIMD_WITH_SSE2 || XSIMD_WITH_NEON64
#define QGEMM_QUANTIZE_SIMD 1
#include <xsimd/xsimd.hpp>
#else
#define QGEMM_QUANTIZE_SIMD 0
#endif

namespace qgemm {
namespace {

void CheckPointers(const void* in, const void* out, size_t n) {
  if (n > 0 && (in == nullptr || out == nullptr)) {
    throw Error(QGEMM_INVALID_ARGUMENT,
                "array pointer is NULL with n = " + std::to_string(n));
  }
}

void CheckScale(float scale) {
  if (!(scale > 0.0f) || !std::isfinite(scale)) {
    throw Error(QGEMM_INVALID_ARGUMENT,
                "scale " + std::to_string(scale) + " must be finite and > 0");
  }
}

#if QGEMM_QUANTIZE_SIMD

using Arch = xsimd::default_arch;
using FloatBatch = xsimd::batch<float, Arch>;
using IntBatch = xsimd::batch<int32_t, Arch>;
constexpr size_t kLanes = FloatBatch::size;

FloatBatch Divide(FloatBatch a, FloatBatch b) {
#if XSIMD_WITH_NEON64
  return vdivq_f32(a, b);
#else
  return a / b;
#endif
}

// The lane form of detail::quantize_level, in float: every value from the
// clamp on is an integer below 2^24 in magnitude, so float holds it exactly
// and the result equals the scalar int32 arithmetic.
struct LevelParams {
  FloatBatch scale, limit, zero_point, quant_min, quant_max;
  LevelParams(float s, int32_t z, int32_t qmin, int32_t qmax)
      : scale(s),
        limit(static_cast<float>(qmax) + 1.0f),
        zero_point(static_cast<float>(z)),
        quant_min(static_cast<float>(qmin)),
        quant_max(static_cast<float>(qmax)) {}
};

FloatBatch QuantizeLevel(FloatBatch x, const LevelParams& p) {
  const FloatBatch zero(0.0f), one(1.0f), half(0.5f);
  FloatBatch y = Divide(x, p.scale);
  y = xsimd::select(y == y, y, zero);  // NaN -> the level of real 0
  y = xsimd::min(xsimd::max(y, -p.limit), p.limit);
  const FloatBatch truncated =
      xsimd::batch_cast<float>(xsimd::batch_cast<int32_t>(y));
  const FloatBatch fraction = y - truncated;  // exact
  const FloatBatch rounded = truncated +
                             xsimd::select(fraction >= half, one, zero) -
                             xsimd::select(fraction <= -half, one, zero);
  return xsimd::min(xsimd::max(rounded + p.zero_point, p.quant_min),
                    p.quant_max);
}

#endif  // QGEMM_QUANTIZE_SIMD

}  // namespace

void quantize(const float* x, size_t n, QuantParams p, uint8_t* q) {
  CheckScale(p.scale);
  CheckPointers(x, q, n);
  size_t i = 0;
#if QGEMM_QUANTIZE_SIMD
  const LevelParams lp(p.scale, p.zero_point, p.quant_min, 255);
  for (; i + kLanes <= n; i += kLanes) {
    const IntBatch level = xsimd::batch_cast<int32_t>(
        QuantizeLevel(FloatBatch::load_unaligned(x + i), lp));
    int32_t lanes[kLanes];
    level.store_unaligned(lanes);
    for (size_t l = 0; l < kLanes; ++l) {
      q[i + l] = static_cast<uint8_t>(lanes[l]);
    }
  }
#endif
  for (; i < n; ++i) q[i] = quantize_value(x[i], p);
}

void dequantize(const uint8_t* q, size_t n, QuantParams p, float* x) {
  CheckScale(p.scale);
  CheckPointers(q, x, n);
  size_t i = 0;
#if QGEMM_QUANTIZE_SIMD
  const FloatBatch scale(p.scale);
  const IntBatch zero_point(static_cast<int32_t>(p.zero_point));
  for (; i + kLanes <= n; i += kLanes) {
    int32_t lanes[kLanes];
    for (size_t l = 0; l < kLanes; ++l) lanes[l] = q[i + l];
    const FloatBatch centered =
        xsimd::batch_cast<float>(IntBatch::load_unaligned(lanes) - zero_point);
    (scale * centered).store_unaligned(x + i);
  }
#endif
  for (; i < n; ++i) x[i] = dequantize_value(q[i], p);
}

void fake_quantize(const float* x, size_t n, const FakeQuantParams& p,
                   float* y) {
  CheckScale(p.scale);
  if (p.quant_min < 0 || p.quant_min > 1 || p.quant_max <= p.quant_min ||
      p.quant_max > 65535 || p.zero_point < p.quant_min ||
      p.zero_point > p.quant_max) {
    throw Error(QGEMM_INVALID_ARGUMENT,
                "fake quantization needs quant_min in [0, 1], quant_max in "
                "[quant_min + 1, 65535] and zero_point in [quant_min, "
                "quant_max], not " +
                    std::to_string(p.quant_min) + ", " +
                    std::to_string(p.quant_max) + " and " +
                    std::to_string(p.zero_point));
  }
  if (p.rule != NudgeRule::kExtendToZero && p.rule != NudgeRule::kTensorFlow) {
    throw Error(
        QGEMM_INVALID_ARGUMENT,
        "unknown NudgeRule " + std::to_string(static_cast<int>(p.rule)));
  }
  CheckPointers(x, y, n);
  size_t i = 0;
  if (p.rule == NudgeRule::kTensorFlow) {
    // TensorFlow's formula: a plain loop (std::floor has no IEEE lane form
    // on the SSE2 baseline); the compiler may vectorize it where it can.
    const float nudged_min = p.nudged_min(), nudged_max = p.nudged_max();
    const auto quant_zero = static_cast<float>(p.zero_point - p.quant_min);
    for (; i < n; ++i) {
      y[i] = detail::tf_fake_quantize(x[i], p.scale, nudged_min, nudged_max,
                                      quant_zero);
    }
    return;
  }
#if QGEMM_QUANTIZE_SIMD
  const LevelParams lp(p.scale, p.zero_point, p.quant_min, p.quant_max);
  for (; i + kLanes <= n; i += kLanes) {
    const FloatBatch level =
        QuantizeLevel(FloatBatch::load_unaligned(x + i), lp);
    (lp.scale * (level - lp.zero_point)).store_unaligned(y + i);
  }
#endif
  for (; i < n; ++i) y[i] = fake_quantize_value(x[i], p);
}

}  // namespace qgemm

// The C quantization helpers of DESIGN.md (the paper's section 2).
#include <qgemm/qgemm.h>

#include <cmath>
#include <cstdint>

extern "C" {

qgemm_status qgemm_quantize_multiplier(double real_multiplier,
                                       int32_t* multiplier, int32_t* shift) {
  if (multiplier == nullptr || shift == nullptr) return QGEMM_INVALID_ARGUMENT;
  if (!std::isfinite(real_multiplier) || real_multiplier < 0.0) {
    return QGEMM_INVALID_ARGUMENT;
  }
  if (real_multiplier == 0.0) {
    *multiplier = 0;
    *shift = 0;
    return QGEMM_OK;
  }
  int exponent = 0;
  const double q = std::frexp(real_multiplier, &exponent);  // [0.5, 1)
  auto q_fixed = static_cast<int64_t>(std::round(q * 2147483648.0));
  if (q_fixed == (int64_t{1} << 31)) {  // rounded up to 1.0: renormalize
    q_fixed /= 2;
    ++exponent;
  }
  if (exponent > 30) return QGEMM_INVALID_ARGUMENT;
  if (exponent < -31) {
    *multiplier = 0;
    *shift = 0;
    return QGEMM_OK;
  }
  *multiplier = static_cast<int32_t>(q_fixed);
  *shift = exponent;
  return QGEMM_OK;
}

qgemm_status qgemm_choose_quant_params(float rmin, float rmax, float* scale,
                                       uint8_t* zero_point) {
  if (scale == nullptr || zero_point == nullptr) return QGEMM_INVALID_ARGUMENT;
  if (!std::isfinite(rmin) || !std::isfinite(rmax) || rmin > rmax) {
    return QGEMM_INVALID_ARGUMENT;
  }
  // Extend the range to hold 0 so that real 0 (padding, ReLU) is exact.
  const double lo = rmin < 0.0f ? static_cast<double>(rmin) : 0.0;
  const double hi = rmax > 0.0f ? static_cast<double>(rmax) : 0.0;
  if (lo == hi) {  // [0, 0]: any scale represents it; keep S > 0
    *scale = 1.0f;
    *zero_point = 0;
    return QGEMM_OK;
  }
  const double s = (hi - lo) / 255.0;
  const double z = -lo / s;  // qmin - lo / s with qmin = 0
  double nudged = std::round(z);
  if (nudged < 0.0) nudged = 0.0;
  if (nudged > 255.0) nudged = 255.0;
  *scale = static_cast<float>(s);
  if (!(*scale > 0.0f)) return QGEMM_INVALID_ARGUMENT;  // underflow to 0
  *zero_point = static_cast<uint8_t>(nudged);
  return QGEMM_OK;
}

}  // extern "C"

// The quantization helpers (docs/design.md, "Quantization helpers"; the
// paper's section 2): the C functions, and the range nudging shared with
// fake quantization.
#include <qgemm/qgemm.h>

#include <cmath>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <qgemm/quantization.hpp>
#include <string>

#include "src/last_error.h"

namespace qgemm {
namespace {

qgemm_status Invalid(const char* fmt, ...)
    __attribute__((format(printf, 1, 2)));

qgemm_status Invalid(const char* fmt, ...) {
  char message[256];
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(message, sizeof message, fmt, args);
  va_end(args);
  return SetLastError(QGEMM_INVALID_ARGUMENT, message);
}

// [rmin, rmax] -> (S, Z) for levels 0..quant_max: the range is extended to
// hold 0, S = (hi - lo) / quant_max, and Z = round(-lo / S) (half away from
// zero, as TFLite), so that real 0 is exactly the level Z. Z is computed as
// -lo * quant_max / (hi - lo) in double, which is exact for the ties that
// matter (e.g. [-1, 1] gives 127.5, rounded up to 128).
qgemm_status NudgeRange(float rmin, float rmax, int32_t quant_max, float* scale,
                        int32_t* zero_point) {
  if (!std::isfinite(rmin) || !std::isfinite(rmax)) {
    return Invalid("range [%g, %g] is not finite", static_cast<double>(rmin),
                   static_cast<double>(rmax));
  }
  if (rmin > rmax) {
    return Invalid("range [%g, %g] is inverted (rmin > rmax)",
                   static_cast<double>(rmin), static_cast<double>(rmax));
  }
  const double lo = rmin < 0.0f ? static_cast<double>(rmin) : 0.0;
  const double hi = rmax > 0.0f ? static_cast<double>(rmax) : 0.0;
  if (lo == hi) {  // [0, 0]: any scale represents it; keep S > 0
    *scale = 1.0f;
    *zero_point = 0;
    return ClearLastError();
  }
  const auto s = static_cast<float>((hi - lo) / quant_max);
  if (!(s > 0.0f)) {
    return Invalid("range [%g, %g] is too narrow: its scale underflows float",
                   lo, hi);
  }
  double z = std::round(-lo * quant_max / (hi - lo));
  if (z < 0.0) z = 0.0;  // cannot happen with lo <= 0 <= hi; kept for safety
  if (z > quant_max) z = quant_max;
  *scale = s;
  *zero_point = static_cast<int32_t>(z);
  return ClearLastError();
}

}  // namespace

QuantizedMatrix quantize_dynamic(const float* x, size_t rows, size_t cols,
                                 size_t ld) {
  if (ld < cols) {
    throw Error(QGEMM_INVALID_ARGUMENT,
                "quantize_dynamic: ld " + std::to_string(ld) +
                    " is smaller than cols " + std::to_string(cols));
  }
  QuantizedMatrix out;
  out.rows = rows;  // an empty matrix keeps its shape for the GEMM's checks
  out.cols = cols;
  if (rows == 0 || cols == 0) return out;
  if (x == nullptr) {
    throw Error(QGEMM_INVALID_ARGUMENT, "quantize_dynamic: x is NULL");
  }
  if (rows > SIZE_MAX / cols) {
    throw Error(QGEMM_INVALID_ARGUMENT,
                "quantize_dynamic: rows x cols overflow");
  }
  // The range starts at 0: choose_quant_params extends it to hold 0 anyway.
  float lo = 0.0f, hi = 0.0f;
  for (size_t i = 0; i < rows; ++i) {
    const float* row = x + i * ld;
    for (size_t j = 0; j < cols; ++j) {
      const float v = row[j];
      if (!std::isfinite(v)) {
        throw Error(QGEMM_INVALID_ARGUMENT,
                    "quantize_dynamic: x[" + std::to_string(i) + "][" +
                        std::to_string(j) + "] is not finite");
      }
      lo = v < lo ? v : lo;
      hi = v > hi ? v : hi;
    }
  }
  out.params = choose_quant_params(lo, hi);
  out.data.resize(rows * cols);
  for (size_t i = 0; i < rows; ++i) {
    quantize(x + i * ld, cols, out.params, out.data.data() + i * cols);
  }
  return out;
}

FakeQuantParams nudge_fake_quant_range(float rmin, float rmax, int num_bits) {
  if (num_bits < 2 || num_bits > 16) {
    throw Error(QGEMM_INVALID_ARGUMENT,
                "num_bits " + std::to_string(num_bits) + " is outside [2, 16]");
  }
  FakeQuantParams p;
  p.quant_max = (int32_t{1} << num_bits) - 1;
  throw_if_error(NudgeRange(rmin, rmax, p.quant_max, &p.scale, &p.zero_point));
  return p;
}

}  // namespace qgemm

extern "C" {

qgemm_status qgemm_quantize_multiplier(double real_multiplier,
                                       int32_t* multiplier, int32_t* shift) {
  if (multiplier == nullptr || shift == nullptr) {
    return qgemm::SetLastError(QGEMM_INVALID_ARGUMENT,
                               "multiplier or shift is NULL");
  }
  if (!std::isfinite(real_multiplier) || real_multiplier < 0.0) {
    return qgemm::Invalid(
        "real multiplier %g must be finite and >= 0 (M = Sa * Sb / Sc)",
        real_multiplier);
  }
  if (real_multiplier == 0.0) {
    *multiplier = 0;
    *shift = 0;
    return qgemm::ClearLastError();
  }
  int exponent = 0;
  const double q = std::frexp(real_multiplier, &exponent);  // [0.5, 1)
  // q * 2^31 is exact in double; rounding it to an integer is the only
  // rounding (half away from zero, as TFLite's TfLiteRound).
  auto q_fixed = static_cast<int64_t>(std::round(q * 2147483648.0));
  if (q_fixed == (int64_t{1} << 31)) {  // rounded up to 1.0: renormalize
    q_fixed /= 2;
    ++exponent;
  }
  if (exponent > 30) {
    return qgemm::Invalid(
        "real multiplier %g is too large: it needs shift %d > 30 "
        "(M must be < 2^30 - 1/4)",
        real_multiplier, exponent);
  }
  if (exponent < -31) {  // below 2^-32: the output stage cannot express it
    *multiplier = 0;
    *shift = 0;
    return qgemm::ClearLastError();
  }
  *multiplier = static_cast<int32_t>(q_fixed);
  *shift = exponent;
  return qgemm::ClearLastError();
}

qgemm_status qgemm_choose_quant_params(float rmin, float rmax, float* scale,
                                       uint8_t* zero_point) {
  if (scale == nullptr || zero_point == nullptr) {
    return qgemm::SetLastError(QGEMM_INVALID_ARGUMENT,
                               "scale or zero_point is NULL");
  }
  float s = 0.0f;
  int32_t z = 0;
  const qgemm_status status = qgemm::NudgeRange(rmin, rmax, 255, &s, &z);
  if (status != QGEMM_OK) return status;
  *scale = s;
  *zero_point = static_cast<uint8_t>(z);
  return QGEMM_OK;
}

}  // extern "C"

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

// [rmin, rmax] -> (S, Z) for levels quant_min..quant_max, the paper's rule
// (NudgeRule::kExtendToZero): the range is extended to hold 0,
// S = (hi - lo) / (quant_max - quant_min), and Z = quant_min +
// round(-lo / S) (half away from zero, as TFLite), so that real 0 is
// exactly the level Z. The offset is computed as -lo * steps / (hi - lo)
// in double, which is exact for the ties that matter (e.g. [-1, 1] gives
// 127.5, rounded up to 128). With quant_min = 0 these are the operations
// qgemm_choose_quant_params has always done.
qgemm_status NudgeRange(float rmin, float rmax, int32_t quant_min,
                        int32_t quant_max, float* scale, int32_t* zero_point) {
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
    *zero_point = quant_min;
    return ClearLastError();
  }
  const int32_t steps = quant_max - quant_min;
  const auto s = static_cast<float>((hi - lo) / steps);
  if (!(s > 0.0f)) {
    return Invalid("range [%g, %g] is too narrow: its scale underflows float",
                   lo, hi);
  }
  double z = std::round(-lo * steps / (hi - lo));
  if (z < 0.0) z = 0.0;  // cannot happen with lo <= 0 <= hi; kept for safety
  if (z > steps) z = steps;
  *scale = s;
  *zero_point = quant_min + static_cast<int32_t>(z);
  return ClearLastError();
}

// TensorFlow's Nudge() (tensorflow/core/kernels/fake_quant_ops_functor.h,
// TF since 2021), float operations in its order:
//   S = (rmax - rmin) / (qmax_f - qmin_f)
//   zero_point_from_min = qmin_f - rmin / S
//   Z = qmin if zero_point_from_min < qmin_f, qmax if > qmax_f,
//       else roundf(zero_point_from_min)   (half away from zero)
// The nudged range (qmin_f - Z) * S, (qmax_f - Z) * S is what
// FakeQuantParams::nudged_min/max compute. Ranges TensorFlow turns into
// zeros or NaN (rmin == rmax, S zero, subnormal or infinite: TensorFlow
// runs its kernels with denormals flushed) are rejected.
void NudgeRangeTensorFlow(float rmin, float rmax, int32_t quant_min,
                          int32_t quant_max, float* scale,
                          int32_t* zero_point) {
  if (!std::isfinite(rmin) || !std::isfinite(rmax)) {
    throw Error(QGEMM_INVALID_ARGUMENT, "range [" + std::to_string(rmin) +
                                            ", " + std::to_string(rmax) +
                                            "] is not finite");
  }
  if (!(rmin < rmax)) {
    throw Error(QGEMM_INVALID_ARGUMENT,
                "TensorFlow nudging needs rmin < rmax, not [" +
                    std::to_string(rmin) + ", " + std::to_string(rmax) +
                    "] (TensorFlow outputs 0 for [0, 0] and NaN for an "
                    "empty or inverted range)");
  }
  const auto quant_min_float = static_cast<float>(quant_min);
  const auto quant_max_float = static_cast<float>(quant_max);
  const float s = (rmax - rmin) / (quant_max_float - quant_min_float);
  if (!std::isnormal(s)) {
    throw Error(QGEMM_INVALID_ARGUMENT,
                "range [" + std::to_string(rmin) + ", " + std::to_string(rmax) +
                    "] gives a scale that is not a normal float");
  }
  const float zero_point_from_min = quant_min_float - rmin / s;
  int32_t z = 0;
  if (zero_point_from_min < quant_min_float) {
    z = quant_min;
  } else if (zero_point_from_min > quant_max_float) {
    z = quant_max;
  } else {
    z = static_cast<int32_t>(std::round(zero_point_from_min));
  }
  *scale = s;
  *zero_point = z;
}

int32_t QuantMaxForBits(int num_bits) {
  if (num_bits < 2 || num_bits > 16) {
    throw Error(QGEMM_INVALID_ARGUMENT,
                "num_bits " + std::to_string(num_bits) + " is outside [2, 16]");
  }
  return (int32_t{1} << num_bits) - 1;
}

void CheckRule(NudgeRule rule) {
  if (rule != NudgeRule::kExtendToZero && rule != NudgeRule::kTensorFlow) {
    throw Error(QGEMM_INVALID_ARGUMENT,
                "unknown NudgeRule " + std::to_string(static_cast<int>(rule)));
  }
}

// (S, Z) for levels [quant_min, quant_max] under options.rule.
void Nudge(float rmin, float rmax, int32_t quant_min, int32_t quant_max,
           NudgeRule rule, float* scale, int32_t* zero_point) {
  CheckRule(rule);
  if (rule == NudgeRule::kTensorFlow) {
    NudgeRangeTensorFlow(rmin, rmax, quant_min, quant_max, scale, zero_point);
  } else {
    throw_if_error(
        NudgeRange(rmin, rmax, quant_min, quant_max, scale, zero_point));
  }
}

// The min and max of x[0..n), or Error for a non-finite element.
void BatchRange(const char* who, const float* x, size_t n, float* lo,
                float* hi) {
  if (x == nullptr) {
    throw Error(QGEMM_INVALID_ARGUMENT,
                std::string(who) + ": x is NULL with n = " + std::to_string(n));
  }
  float batch_min = x[0], batch_max = x[0];
  for (size_t i = 0; i < n; ++i) {
    const float v = x[i];
    if (!std::isfinite(v)) {
      throw Error(
          QGEMM_INVALID_ARGUMENT,
          std::string(who) + ": x[" + std::to_string(i) + "] is not finite");
    }
    batch_min = v < batch_min ? v : batch_min;
    batch_max = v > batch_max ? v : batch_max;
  }
  *lo = batch_min;
  *hi = batch_max;
}

void CheckObserved(bool has_range) {
  if (!has_range) {
    throw Error(QGEMM_INVALID_ARGUMENT,
                "the observer has no range yet: observe a tensor first");
  }
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
  FakeQuantParams p;
  p.quant_max = QuantMaxForBits(num_bits);
  throw_if_error(
      NudgeRange(rmin, rmax, 0, p.quant_max, &p.scale, &p.zero_point));
  return p;
}

FakeQuantParams nudge_fake_quant_range(float rmin, float rmax, int num_bits,
                                       const RangeOptions& options) {
  FakeQuantParams p;
  p.quant_max = QuantMaxForBits(num_bits);
  p.quant_min = options.narrow_range ? 1 : 0;
  p.rule = options.rule;
  Nudge(rmin, rmax, p.quant_min, p.quant_max, options.rule, &p.scale,
        &p.zero_point);
  return p;
}

QuantParams choose_quant_params(float rmin, float rmax,
                                const RangeOptions& options) {
  const int32_t quant_min = options.narrow_range ? 1 : 0;
  QuantParams p;
  int32_t z = 0;
  Nudge(rmin, rmax, quant_min, 255, options.rule, &p.scale, &z);
  p.zero_point = static_cast<uint8_t>(z);
  p.quant_min = static_cast<uint8_t>(quant_min);
  return p;
}

void MinMaxObserver::observe(const float* x, size_t n) {
  if (n == 0) return;
  float lo = 0.0f, hi = 0.0f;
  BatchRange("MinMaxObserver::observe", x, n, &lo, &hi);
  if (has_range_) {
    min_ = lo < min_ ? lo : min_;
    max_ = hi > max_ ? hi : max_;
  } else {
    min_ = lo;
    max_ = hi;
    has_range_ = true;
  }
}

QuantParams MinMaxObserver::quant_params(const RangeOptions& options) const {
  CheckObserved(has_range_);
  return choose_quant_params(min_, max_, options);
}

FakeQuantParams MinMaxObserver::fake_quant_params(
    int num_bits, const RangeOptions& options) const {
  CheckObserved(has_range_);
  return nudge_fake_quant_range(min_, max_, num_bits, options);
}

MovingAverageObserver::MovingAverageObserver(double decay) : decay_(decay) {
  if (!(decay >= 0.0 && decay <= 1.0)) {
    throw Error(
        QGEMM_INVALID_ARGUMENT,
        "moving-average decay " + std::to_string(decay) + " is outside [0, 1]");
  }
  weight_ = static_cast<float>(1.0 - decay);
}

void MovingAverageObserver::observe(const float* x, size_t n) {
  if (n == 0) return;
  float lo = 0.0f, hi = 0.0f;
  BatchRange("MovingAverageObserver::observe", x, n, &lo, &hi);
  if (!has_range_) {
    min_ = lo;
    max_ = hi;
    has_range_ = true;
    return;
  }
  // Two roundings each (product, then difference): this file is compiled
  // with -ffp-contract=off, so no fused multiply-add merges them.
  const float new_min = min_ - (min_ - lo) * weight_;
  float new_max = max_ - (max_ - hi) * weight_;
  // The two roundings can cross a range a few ulps wide (a one-value batch
  // with decay 0, say); an inverted range is no range, so max meets min.
  if (new_max < new_min) new_max = new_min;
  if (!std::isfinite(new_min) || !std::isfinite(new_max)) {
    throw Error(QGEMM_INVALID_ARGUMENT,
                "MovingAverageObserver::observe: the moving average of [" +
                    std::to_string(lo) + ", " + std::to_string(hi) +
                    "] overflows float");
  }
  min_ = new_min;
  max_ = new_max;
}

QuantParams MovingAverageObserver::quant_params(
    const RangeOptions& options) const {
  CheckObserved(has_range_);
  return choose_quant_params(min_, max_, options);
}

FakeQuantParams MovingAverageObserver::fake_quant_params(
    int num_bits, const RangeOptions& options) const {
  CheckObserved(has_range_);
  return nudge_fake_quant_range(min_, max_, num_bits, options);
}

namespace {

// qgemm_choose_quant_params(_narrow): levels [quant_min, 255].
qgemm_status ChooseQuantParams(float rmin, float rmax, int32_t quant_min,
                               float* scale, uint8_t* zero_point) {
  if (scale == nullptr || zero_point == nullptr) {
    return SetLastError(QGEMM_INVALID_ARGUMENT, "scale or zero_point is NULL");
  }
  float s = 0.0f;
  int32_t z = 0;
  const qgemm_status status = NudgeRange(rmin, rmax, quant_min, 255, &s, &z);
  if (status != QGEMM_OK) return status;
  *scale = s;
  *zero_point = static_cast<uint8_t>(z);
  return QGEMM_OK;
}

}  // namespace
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
  return qgemm::ChooseQuantParams(rmin, rmax, 0, scale, zero_point);
}

qgemm_status qgemm_choose_quant_params_narrow(float rmin, float rmax,
                                              float* scale,
                                              uint8_t* zero_point) {
  return qgemm::ChooseQuantParams(rmin, rmax, 1, scale, zero_point);
}

}  // extern "C"

// qgemm quantization helpers (C++): the paper's section 2 (real = S (q - Z))
// and section 3 (training with simulated quantization).
//
//   quantize_multiplier   M = Sa Sb / Sc  ->  (M0, shift) for the output stage
//   choose_quant_params   [rmin, rmax]    ->  (S, Z), real 0 exact
//   quantize / dequantize float <-> uint8 arrays with (S, Z)
//   quantize_dynamic      a float matrix -> its (S, Z) and uint8 codes, in
//                         one call (activations in front of qgemm_u8u8_f32)
//   nudge_fake_quant_range / fake_quantize   "fake quantization" for training
//   MinMaxObserver / MovingAverageObserver   learned ranges (the paper's
//                         section 3.1): weights' running min/max, and an
//                         exponential moving average of activations' ranges
//
// Range options (RangeOptions, default off / the paper's rule, so the
// two- and three-argument forms keep their meaning): narrow_range (levels
// [1, 2^bits - 1], the paper's weight tweak, TensorFlow's narrow_range) and
// the nudging rule: NudgeRule::kExtendToZero (the paper / gemmlowp / TFLite
// rule, the default) or NudgeRule::kTensorFlow (TensorFlow's
// FakeQuantWithMinMaxVars, bit for bit). docs/design.md "Learned
// quantization ranges" writes both down and says how they differ.
//
// Errors: every function that can fail throws qgemm::Error with
// QGEMM_INVALID_ARGUMENT and a message (the same rule as <qgemm/qgemm.hpp>);
// the status-returning forms of the first two are the C functions
// qgemm_quantize_multiplier and qgemm_choose_quant_params. The array
// helpers check their parameters once on entry and never throw inside the
// loop.
//
// Numerics of the float <-> uint8 mapping (the scalar *_value functions
// below ARE the definition; the array helpers give the same bits):
//   quantize:   q = clamp(round(x / S) + Z, 0, 255)
//               x / S is one IEEE float division (not x * (1/S));
//               round() is round-half-AWAY-from-zero, like std::round and
//               TFLite's reference quantizer (2.5 -> 3, -2.5 -> -3);
//               NaN -> Z (real 0); +inf -> 255; -inf -> 0.
//   dequantize: x = S * (float)(q - Z)   (one rounding: a float multiply)
//   fake quantization (n = 2^bits levels, [a, b] the nudged range):
//               y = S * (clamp(round(x / S) + Z, 0, n - 1) - Z)
//               which is the paper's
//                 q(r) = round((clamp(r, a, b) - a) / S) S + a
//               with a = -Z S, b = (n - 1 - Z) S, computed so that for 8 bits
//               fake_quantize(x) == dequantize(quantize(x)) bit for bit: the
//               training graph sees exactly the values inference computes.
//               NaN -> 0.0f; +-inf -> b / a.
#ifndef QGEMM_QUANTIZATION_HPP_
#define QGEMM_QUANTIZATION_HPP_

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <qgemm/qgemm.hpp>
#include <vector>

namespace qgemm {

// ---- Multiplier -------------------------------------------------------------

// M = multiplier * 2^(shift - 31): the output stage's fixed-point form.
struct QuantizedMultiplier {
  int32_t multiplier = 0;  // M0: in [2^30, 2^31), or 0 (with shift 0)
  int32_t shift = 0;       // in [-31, 30]

  // The real value it represents, exactly (a double holds it exactly).
  double value() const noexcept {
    return std::ldexp(static_cast<double>(multiplier), shift - 31);
  }
};

// TFLite's QuantizeMultiplier (see qgemm_quantize_multiplier): M0 rounded to
// nearest, a round-up to 2^31 renormalized to (2^30, shift + 1); M = 0 and
// M < 2^-32 (shift < -31) give (0, 0). Throws Error for M < 0, NaN, inf or
// M too large for shift <= 30 (M >= 2^30 - 2^-2, after rounding).
inline QuantizedMultiplier quantize_multiplier(double real_multiplier) {
  QuantizedMultiplier out;
  throw_if_error(
      qgemm_quantize_multiplier(real_multiplier, &out.multiplier, &out.shift));
  return out;
}

// ---- Range options ----------------------------------------------------------

// How a range [rmin, rmax] becomes a scale S and an integer zero point Z on
// the levels [quant_min, quant_max].
enum class NudgeRule {
  // The paper's rule (gemmlowp, TFLite): [rmin, rmax] is EXTENDED to hold 0,
  // S = (hi - lo) / (quant_max - quant_min) in double rounded once to float,
  // Z = quant_min + round(-lo (quant_max - quant_min) / (hi - lo)) (double,
  // half away from zero). What choose_quant_params has always done.
  kExtendToZero,
  // TensorFlow's FakeQuantWithMinMaxVars Nudge() (CPU kernel, TensorFlow
  // since 2021), in float and in its order:
  //   S = (rmax - rmin) / (quant_max - quant_min),
  //   Z = clamp(round(quant_min - rmin / S), quant_min, quant_max);
  // a range that excludes 0 is SHIFTED until one end is 0 (its width kept),
  // not extended. Needs rmin < rmax and a normal S (TensorFlow gives 0 or
  // NaN otherwise).
  kTensorFlow,
};

struct RangeOptions {
  // Levels [1, 2^bits - 1] instead of [0, 2^bits - 1]: the paper's weight
  // tweak (int8 weights never -128), TensorFlow's narrow_range.
  bool narrow_range = false;
  NudgeRule rule = NudgeRule::kExtendToZero;
};

// ---- Scale and zero point ------------------------------------------------

struct QuantParams {
  float scale = 1.0f;      // S > 0
  uint8_t zero_point = 0;  // Z: the code of real 0
  uint8_t quant_min = 0;   // the lowest code: 0, or 1 with narrow range

  // The range [S (quant_min - Z), S (255 - Z)] that the codes represent,
  // computed exactly as dequantize computes codes quant_min and 255.
  float nudged_min() const noexcept {
    return scale * static_cast<float>(static_cast<int32_t>(quant_min) -
                                      static_cast<int32_t>(zero_point));
  }
  float nudged_max() const noexcept {
    return scale * static_cast<float>(255 - static_cast<int32_t>(zero_point));
  }
};

// The paper's nudging (see qgemm_choose_quant_params): [rmin, rmax] is
// extended to hold 0, S = (max - min) / 255 (computed in double, rounded
// once to float), Z = round(-min / S) with the same half-away rule, which
// makes real 0 exactly representable. Example: [-1, 1] -> S = 2/255,
// Z = 127.5 rounded up to 128 (nudged range [-128 S, 127 S]); [0.5, 2] ->
// [0, 2] -> Z = 0. [0, 0] -> S = 1, Z = 0. Throws Error for NaN/inf,
// rmin > rmax, or a range so small that S underflows to 0 in float.
inline QuantParams choose_quant_params(float rmin, float rmax) {
  QuantParams out;
  throw_if_error(
      qgemm_choose_quant_params(rmin, rmax, &out.scale, &out.zero_point));
  return out;
}

// The same with options: options.narrow_range gives levels [1, 255]
// (quant_min = 1; with kExtendToZero, S = (hi - lo) / 254 and Z = 1 +
// round(-lo / S)); options.rule = NudgeRule::kTensorFlow gives the (S, Z)
// of TensorFlow's nudging (8 bits). Default options: exactly the
// two-argument form. Throws Error as it, and for what kTensorFlow rejects.
QuantParams choose_quant_params(float rmin, float rmax,
                                const RangeOptions& options);

namespace detail {

// The integer level of x: clamp(round_half_away(x / scale) + zero_point,
// quant_min, quant_max). The definition every quantizing helper follows
// (except NudgeRule::kTensorFlow's fake quantization, below).
inline int32_t quantize_level(float x, float scale, int32_t zero_point,
                              int32_t quant_min, int32_t quant_max) noexcept {
  float y = x / scale;
  if (y != y) y = 0.0f;  // NaN -> the level of real 0
  // Outside +-(quant_max + 1) every value clamps the same way; inside it the
  // int32 conversion is exact.
  const float limit = static_cast<float>(quant_max) + 1.0f;
  y = y < -limit ? -limit : (y > limit ? limit : y);
  const int32_t truncated = static_cast<int32_t>(y);
  const float fraction = y - static_cast<float>(truncated);  // exact
  const int32_t rounded =
      truncated + (fraction >= 0.5f ? 1 : 0) - (fraction <= -0.5f ? 1 : 0);
  const int32_t q = rounded + zero_point;
  return q < quant_min ? quant_min : (q > quant_max ? quant_max : q);
}

// TensorFlow's FakeQuantWithMinMaxVars element formula (CPU kernel,
// TF since 2021), the same IEEE float operations in the same order:
//   c = max(min(x, b), a); y = floor((c - a) / S - qz + 0.5f) * S
// with [a, b] the nudged range and qz = Z - quant_min (TensorFlow computes
// qz as floor(-a * inv_S + 0.5f), which is exactly Z - quant_min whenever
// S is normal: the product is within 2.4e-7 relative of an integer
// <= 65535). The clamp is Eigen's cwiseMin / cwiseMax, i.e. std::min /
// std::max: NaN passes through it (and so comes out NaN) and a signed zero
// equal to a bound keeps its sign.
inline float tf_fake_quantize(float x, float scale, float nudged_min,
                              float nudged_max, float quant_zero) noexcept {
  float clamped = nudged_max < x ? nudged_max : x;
  clamped = clamped < nudged_min ? nudged_min : clamped;
  const float shifted = clamped - nudged_min;
  const float level = std::floor(shifted / scale - quant_zero + 0.5f);
  return level * scale;
}

}  // namespace detail

inline uint8_t quantize_value(float x, QuantParams p) noexcept {
  return static_cast<uint8_t>(
      detail::quantize_level(x, p.scale, p.zero_point, p.quant_min, 255));
}

inline float dequantize_value(uint8_t q, QuantParams p) noexcept {
  return p.scale * static_cast<float>(static_cast<int32_t>(q) -
                                      static_cast<int32_t>(p.zero_point));
}

// q[i] = quantize_value(x[i], p) for i < n (codes in [p.quant_min, 255]).
// Throws Error if p.scale is not finite and > 0, or a pointer is NULL while
// n > 0.
void quantize(const float* x, size_t n, QuantParams p, uint8_t* q);
// x[i] = dequantize_value(q[i], p) for i < n. Same checks.
void dequantize(const uint8_t* q, size_t n, QuantParams p, float* x);

// ---- Dynamic quantization -------------------------------------------------

// A float matrix quantized with parameters chosen from its own range.
struct QuantizedMatrix {
  QuantParams params;
  size_t rows = 0, cols = 0;
  std::vector<uint8_t> data;  // rows x cols, dense (stride cols)

  MatrixView<const uint8_t> view() const noexcept {
    return {data.data(), rows, cols, cols};
  }
};

// Dynamic quantization of the activations in front of a GEMM (typically
// qgemm_u8u8_f32 with a_scale = params.scale, a_zero_point =
// params.zero_point): the range [min, max] of the rows x cols matrix x (row
// stride ld >= cols, in floats), extended to hold 0, gives (S, Z) through
// choose_quant_params (real 0 exact), and every element is quantized with
// quantize (q = clamp(round(x / S) + Z, 0, 255)), so each dequantizes to
// within S / 2 of its input. An empty matrix gives S = 1, Z = 0, its
// shape and no data. Throws Error for a NaN or infinite element (no range holds
// it), ld < cols, or x NULL with elements to read.
QuantizedMatrix quantize_dynamic(const float* x, size_t rows, size_t cols,
                                 size_t ld);

// ---- Fake quantization (training with simulated quantization) --------------

struct FakeQuantParams {
  float scale = 1.0f;       // S
  int32_t zero_point = 0;   // Z in [quant_min, quant_max]
  int32_t quant_max = 255;  // n - 1, n = 2^num_bits levels
  int32_t quant_min = 0;    // 0, or 1 with narrow range
  // Which element formula fake_quantize applies: kExtendToZero is the
  // formula below (bit-identical to dequantize(quantize(x)) at 8 bits),
  // kTensorFlow is TensorFlow's (detail::tf_fake_quantize).
  NudgeRule rule = NudgeRule::kExtendToZero;

  // a = S (quant_min - Z) and b = S (quant_max - Z): 0 is exactly
  // representable. (TensorFlow computes (quant_min - Z) * S: the same bits.)
  float nudged_min() const noexcept {
    return scale * static_cast<float>(quant_min - zero_point);
  }
  float nudged_max() const noexcept {
    return scale * static_cast<float>(quant_max - zero_point);
  }
};

// Nudges [rmin, rmax] for n = 2^num_bits levels (num_bits in [2, 16]): the
// same rule as choose_quant_params with 255 replaced by n - 1 (so for
// num_bits = 8 it gives the same S and Z). Note: the range is EXTENDED to
// hold 0 first, as for inference; TensorFlow's FakeQuantWithMinMaxVars
// instead shifts a range that excludes 0. Throws Error on bad input (as
// choose_quant_params, or num_bits out of range).
FakeQuantParams nudge_fake_quant_range(float rmin, float rmax,
                                       int num_bits = 8);

// The same with options (default options: exactly the form above).
// options.narrow_range: levels [1, 2^num_bits - 1] (quant_min = 1).
// options.rule = NudgeRule::kTensorFlow: TensorFlow's
// FakeQuantWithMinMaxVars(num_bits, narrow_range) nudging, bit for bit (S,
// Z and so a and b), and fake_quantize then applies TensorFlow's element
// formula; rmin == rmax is rejected (TensorFlow outputs 0 for [0, 0] and
// NaN otherwise), as is a range whose S is not a normal float.
FakeQuantParams nudge_fake_quant_range(float rmin, float rmax, int num_bits,
                                       const RangeOptions& options);

inline float fake_quantize_value(float x, const FakeQuantParams& p) noexcept {
  if (p.rule == NudgeRule::kTensorFlow) {
    return detail::tf_fake_quantize(
        x, p.scale, p.nudged_min(), p.nudged_max(),
        static_cast<float>(p.zero_point - p.quant_min));
  }
  return p.scale *
         static_cast<float>(detail::quantize_level(x, p.scale, p.zero_point,
                                                   p.quant_min, p.quant_max) -
                            p.zero_point);
}

// y[i] = fake_quantize_value(x[i], p) for i < n; y == x (in place) is
// allowed. Throws Error if p is not one nudge_fake_quant_range could give
// (scale finite > 0, quant_min in [0, 1], quant_max in [quant_min + 1,
// 65535], zero_point in [quant_min, quant_max], rule a NudgeRule) or a
// pointer is NULL while n > 0.
void fake_quantize(const float* x, size_t n, const FakeQuantParams& p,
                   float* y);

// ---- Learned ranges (the paper's section 3.1) ------------------------------

// Weights: the running min and max over every tensor observed (the paper
// takes a weight tensor's own min/max). Parameters come from
// choose_quant_params / nudge_fake_quant_range with the observer's range;
// for weights, the paper's narrow range is RangeOptions{true}.
class MinMaxObserver {
 public:
  // Widens the range to hold x[0..n). Throws Error, leaving the observer
  // unchanged, if an element is NaN or infinite or x is NULL with n > 0;
  // n == 0 observes nothing.
  void observe(const float* x, size_t n);

  bool has_range() const noexcept { return has_range_; }
  float min() const noexcept { return min_; }  // 0 before any observation
  float max() const noexcept { return max_; }
  void reset() noexcept { *this = MinMaxObserver(); }

  // Throw Error before any observation, else as the functions they call.
  QuantParams quant_params(const RangeOptions& options = {}) const;
  FakeQuantParams fake_quant_params(int num_bits = 8,
                                    const RangeOptions& options = {}) const;

 private:
  bool has_range_ = false;
  float min_ = 0.0f, max_ = 0.0f;
};

// Activations: an exponential moving average of each batch's min and max.
// The first batch sets the range to its own min and max; each later batch
// moves it as TensorFlow's assign_moving_average(zero_debias=False) does,
// in float:
//   min = min - (min - batch_min) * w,   max = max - (max - batch_max) * w
// with w = (float)(1 - decay) computed in double (as TensorFlow turns a
// Python decay into a float32 tensor), so decay near 1 (the paper's
// "smoothing parameter close to 1", TensorFlow's default 0.999) moves the
// range slowly; decay 0 follows the last batch (up to the rounding of
// min - batch_min), decay 1 keeps the first. Where the two roundings would
// put min above max (a range a few ulps wide), max is set to min.
class MovingAverageObserver {
 public:
  // Throws Error unless decay is in [0, 1].
  explicit MovingAverageObserver(double decay = 0.999);

  // One batch. Throws Error, leaving the observer unchanged, if an element
  // is NaN or infinite, x is NULL with n > 0, or the update would leave the
  // float range (e.g. min - batch_min overflows); n == 0 observes nothing.
  void observe(const float* x, size_t n);

  double decay() const noexcept { return decay_; }
  bool has_range() const noexcept { return has_range_; }
  float min() const noexcept { return min_; }  // 0 before any observation
  float max() const noexcept { return max_; }
  void reset() noexcept {
    has_range_ = false;
    min_ = max_ = 0.0f;
  }

  // Throw Error before any observation, else as the functions they call.
  QuantParams quant_params(const RangeOptions& options = {}) const;
  FakeQuantParams fake_quant_params(int num_bits = 8,
                                    const RangeOptions& options = {}) const;

 private:
  double decay_;
  float weight_;  // (float)(1 - decay)
  bool has_range_ = false;
  float min_ = 0.0f, max_ = 0.0f;
};

}  // namespace qgemm

#endif  // QGEMM_QUANTIZATION_HPP_

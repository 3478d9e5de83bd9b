// The quantization helpers: worked examples from the paper's formulas, the
// C and C++ forms against each other, and the xsimd array helpers against
// plain scalar loops written here independently of the library.
#include <gtest/gtest.h>
#include <qgemm/qgemm.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <qgemm/quantization.hpp>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace qgemm_test {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr int32_t kTwo30 = int32_t{1} << 30;

uint32_t Bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}

// ---- quantize_multiplier ---------------------------------------------------

struct MultiplierExample {
  double m;
  int32_t m0, shift;
};

TEST(QuantizeMultiplier, WorkedExamples) {
  const MultiplierExample examples[] = {
      {0.5, kTwo30, 0},             // 2^30 * 2^-31
      {1.0, kTwo30, 1},             // 2^30 * 2^-30
      {0.75, 3 * (kTwo30 / 2), 0},  // 3 * 2^29 * 2^-31
      {0.25, kTwo30, -1},
      {0.1, 1717986918, -3},                        // 0.8 * 2^31 = 1717986918.4
      {std::ldexp(1.0, 29), kTwo30, 30},            // largest power of two
      {std::ldexp(1.0, 30) - 0.5, 2147483647, 30},  // largest M0
      {1.0 - std::ldexp(1.0, -40), kTwo30, 1},      // rounds to 2^31: renormed
      {std::ldexp(1.0, -32), kTwo30, -31},          // smallest shift
      // just under 2^-32 but rounding up to it: renormalized to shift -31
      {std::ldexp(1.0 - std::ldexp(1.0, -40), -32), kTwo30, -31},
      {std::ldexp(1.0, -33), 0, 0},  // shift would be -32
      {1e-12, 0, 0},
      {0.0, 0, 0},
      {-0.0, 0, 0},
  };
  for (const MultiplierExample& e : examples) {
    SCOPED_TRACE(testing::Message() << "M = " << e.m);
    int32_t m0 = -1, shift = -1;
    ASSERT_EQ(qgemm_quantize_multiplier(e.m, &m0, &shift), QGEMM_OK);
    EXPECT_EQ(m0, e.m0);
    EXPECT_EQ(shift, e.shift);
    const qgemm::QuantizedMultiplier qm = qgemm::quantize_multiplier(e.m);
    EXPECT_EQ(qm.multiplier, e.m0);
    EXPECT_EQ(qm.shift, e.shift);
    EXPECT_EQ(qm.value(), std::ldexp(static_cast<double>(e.m0), e.shift - 31));
  }
}

TEST(QuantizeMultiplier, RejectsWhatTheOutputStageCannotExpress) {
  const double bad[] = {-0.5,
                        -std::ldexp(1.0, -40),
                        std::numeric_limits<double>::quiet_NaN(),
                        std::numeric_limits<double>::infinity(),
                        -std::numeric_limits<double>::infinity(),
                        std::ldexp(1.0, 30) - 0.25,  // rounds to shift 31
                        std::ldexp(1.0, 30),
                        std::ldexp(1.0, 31),
                        1e300};
  for (double m : bad) {
    SCOPED_TRACE(testing::Message() << "M = " << m);
    int32_t m0 = 7, shift = 7;
    EXPECT_EQ(qgemm_quantize_multiplier(m, &m0, &shift),
              QGEMM_INVALID_ARGUMENT);
    EXPECT_STRNE(qgemm_last_error(), "");
    try {
      qgemm::quantize_multiplier(m);
      ADD_FAILURE() << "no exception";
    } catch (const qgemm::Error& e) {
      EXPECT_EQ(e.status(), QGEMM_INVALID_ARGUMENT);
      EXPECT_NE(std::string(e.message()), "");
    }
  }
  int32_t m0 = 0;
  EXPECT_EQ(qgemm_quantize_multiplier(0.5, &m0, nullptr),
            QGEMM_INVALID_ARGUMENT);
  EXPECT_EQ(qgemm_quantize_multiplier(0.5, nullptr, &m0),
            QGEMM_INVALID_ARGUMENT);
  // A success clears the message.
  int32_t shift = 0;
  ASSERT_EQ(qgemm_quantize_multiplier(0.5, &m0, &shift), QGEMM_OK);
  EXPECT_STREQ(qgemm_last_error(), "");
}

// Over the whole valid range: M0 in [2^30, 2^31), shift in [-31, 30], and
// the represented value within half a step of the Q31 grid.
TEST(QuantizeMultiplier, IsNearestOnTheWholeRange) {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> log2m(-32.0, 30.0);
  for (int i = 0; i < 20000; ++i) {
    const double m = std::exp2(log2m(rng));
    SCOPED_TRACE(testing::Message() << "M = " << m);
    int32_t m0 = 0, shift = 0;
    if (qgemm_quantize_multiplier(m, &m0, &shift) != QGEMM_OK) {
      // Only the sliver just below 2^30 that rounds up to shift 31.
      ASSERT_GE(m, std::ldexp(1.0, 30) - 0.25);
      continue;
    }
    ASSERT_GE(m0, kTwo30);
    ASSERT_GE(shift, -31);
    ASSERT_LE(shift, 30);
    const double value = std::ldexp(static_cast<double>(m0), shift - 31);
    // Half a unit of M0 (after a renormalization, a quarter).
    ASSERT_LE(std::fabs(value - m), std::ldexp(1.0, shift - 32))
        << "m0 " << m0 << " shift " << shift;
    ASSERT_LE(std::fabs(value - m) / m, std::ldexp(1.0, -31));
  }
}

// ---- choose_quant_params ---------------------------------------------------

struct RangeExample {
  float rmin, rmax;
  double scale;  // exact real S; the float is its rounding
  int zero_point;
};

TEST(ChooseQuantParams, WorkedExamples) {
  const RangeExample examples[] = {
      {-1.0f, 1.0f, 2.0 / 255, 128},   // Z = 127.5, rounded half away: up
      {0.5f, 2.0f, 2.0 / 255, 0},      // extended to [0, 2]
      {-2.0f, -0.5f, 2.0 / 255, 255},  // extended to [-2, 0]
      {0.0f, 6.0f, 6.0 / 255, 0},      // ReLU6
      {-3.0f, 0.0f, 3.0 / 255, 255},
      {-0.5f, 1.5f, 2.0 / 255, 64},    // Z = 63.75
      {-1.0f, 3.0f, 4.0 / 255, 64},    // Z = 63.75
      {-1.5f, 0.5f, 2.0 / 255, 191},   // Z = 191.25
      {0.0f, 0.0f, 1.0, 0},            // degenerate: S = 1
      {2.0f, 2.0f, 2.0 / 255, 0},      // a point: [0, 2]
      {-2.0f, -2.0f, 2.0 / 255, 255},  // a point: [-2, 0]
  };
  for (const RangeExample& e : examples) {
    SCOPED_TRACE(testing::Message() << "[" << e.rmin << ", " << e.rmax << "]");
    float s = 0.0f;
    uint8_t z = 0;
    ASSERT_EQ(qgemm_choose_quant_params(e.rmin, e.rmax, &s, &z), QGEMM_OK);
    EXPECT_EQ(s, static_cast<float>(e.scale));
    EXPECT_EQ(z, e.zero_point);
    const qgemm::QuantParams p = qgemm::choose_quant_params(e.rmin, e.rmax);
    EXPECT_EQ(p.scale, s);
    EXPECT_EQ(p.zero_point, z);
    // Real 0 is exactly representable.
    EXPECT_EQ(qgemm::quantize_value(0.0f, p), z);
    EXPECT_EQ(qgemm::dequantize_value(z, p), 0.0f);
  }
  // [-1, 1] nudged up: codes cover [-128 S, 127 S].
  const qgemm::QuantParams p = qgemm::choose_quant_params(-1.0f, 1.0f);
  EXPECT_EQ(p.nudged_min(), -128.0f * p.scale);
  EXPECT_EQ(p.nudged_max(), 127.0f * p.scale);
  EXPECT_LT(p.nudged_min(), -1.0f);
  EXPECT_LT(p.nudged_max(), 1.0f);
}

TEST(ChooseQuantParams, RejectsBadRanges) {
  const float bad[][2] = {{1.0f, -1.0f},        {0.5f, 0.25f}, {kNaN, 1.0f},
                          {-1.0f, kNaN},        {-kInf, 1.0f}, {-1.0f, kInf},
                          {-FLT_TRUE_MIN, 0.0f}};  // S underflows to 0
  for (const auto& r : bad) {
    SCOPED_TRACE(testing::Message() << "[" << r[0] << ", " << r[1] << "]");
    float s = 0.0f;
    uint8_t z = 0;
    EXPECT_EQ(qgemm_choose_quant_params(r[0], r[1], &s, &z),
              QGEMM_INVALID_ARGUMENT);
    EXPECT_STRNE(qgemm_last_error(), "");
    EXPECT_THROW(qgemm::choose_quant_params(r[0], r[1]), qgemm::Error);
  }
  float s = 0.0f;
  EXPECT_EQ(qgemm_choose_quant_params(0.0f, 1.0f, &s, nullptr),
            QGEMM_INVALID_ARGUMENT);
}

// Random ranges: Z in [0, 255], 0 exact, and the nudged range within half a
// step of the (0-extended) requested one.
TEST(ChooseQuantParams, RandomRangesKeepZeroExactAndCoverTheRange) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> log_mag(-20.0f, 20.0f);
  std::uniform_int_distribution<int> sign(0, 1);
  for (int i = 0; i < 20000; ++i) {
    float a = std::exp2(log_mag(rng)) * (sign(rng) ? 1.0f : -1.0f);
    float b = std::exp2(log_mag(rng)) * (sign(rng) ? 1.0f : -1.0f);
    if (a > b) std::swap(a, b);
    SCOPED_TRACE(testing::Message() << "[" << a << ", " << b << "]");
    const qgemm::QuantParams p = qgemm::choose_quant_params(a, b);
    const double lo = static_cast<double>(std::min(a, 0.0f)),
                 hi = static_cast<double>(std::max(b, 0.0f));
    ASSERT_EQ(qgemm::quantize_value(0.0f, p), p.zero_point);
    const double step = static_cast<double>(p.scale);
    ASSERT_NEAR(p.nudged_min(), lo, 0.5 * step + 1e-6 * (hi - lo));
    ASSERT_NEAR(p.nudged_max(), hi, 0.5 * step + 1e-6 * (hi - lo));
  }
}

// ---- quantize / dequantize: arrays against a plain loop -------------------

// The definition, written independently: std::round is half away from zero.
uint8_t LoopQuantize(float x, float scale, int zero_point) {
  if (std::isnan(x)) return static_cast<uint8_t>(zero_point);
  const double r = std::round(static_cast<double>(x / scale)) + zero_point;
  return static_cast<uint8_t>(r < 0.0 ? 0.0 : (r > 255.0 ? 255.0 : r));
}

float LoopDequantize(uint8_t q, float scale, int zero_point) {
  return scale * static_cast<float>(q - zero_point);
}

// Inputs that stress each step: ties x = (k + 1/2) S and their neighbours,
// the clamp edges, NaN, infinities, signed zeros, denormals, huge values,
// and random values over and beyond the range.
std::vector<float> HardInputs(float scale, std::mt19937* rng) {
  std::vector<float> x = {
      0.0f,     -0.0f,   kNaN,     -kNaN,        kInf,          -kInf, FLT_MAX,
      -FLT_MAX, FLT_MIN, -FLT_MIN, FLT_TRUE_MIN, -FLT_TRUE_MIN, 1e30f, -1e30f};
  for (int k = -300; k <= 300; ++k) {
    const float tie = (static_cast<float>(k) + 0.5f) * scale;
    x.push_back(tie);
    x.push_back(std::nextafter(tie, kInf));
    x.push_back(std::nextafter(tie, -kInf));
    x.push_back(static_cast<float>(k) * scale);
  }
  std::uniform_real_distribution<float> wide(-400.0f, 400.0f);
  for (int i = 0; i < 2000; ++i) x.push_back(wide(*rng) * scale);
  std::shuffle(x.begin(), x.end(), *rng);
  return x;
}

const float kScales[] = {1.0f,  0.5f,          0.25f,   2.0f / 255,
                         0.1f,  6.0f / 255,    3.7e-3f, 1e-30f,
                         1e30f, 1.1754944e-38f};
const int kZeroPoints[] = {0, 1, 127, 128, 254, 255};

TEST(QuantizeArrays, MatchTheScalarLoopOnHardInputs) {
  std::mt19937 rng(11);
  for (float scale : kScales) {
    const std::vector<float> x = HardInputs(scale, &rng);
    for (int z : kZeroPoints) {
      SCOPED_TRACE(testing::Message() << "S " << scale << " Z " << z);
      const qgemm::QuantParams p{scale, static_cast<uint8_t>(z)};
      std::vector<uint8_t> q(x.size(), 0xAA);
      qgemm::quantize(x.data(), x.size(), p, q.data());
      for (size_t i = 0; i < x.size(); ++i) {
        ASSERT_EQ(q[i], LoopQuantize(x[i], scale, z)) << "x = " << x[i];
        ASSERT_EQ(q[i], qgemm::quantize_value(x[i], p)) << "x = " << x[i];
      }
      std::vector<float> back(x.size());
      qgemm::dequantize(q.data(), q.size(), p, back.data());
      for (size_t i = 0; i < x.size(); ++i) {
        ASSERT_EQ(Bits(back[i]), Bits(LoopDequantize(q[i], scale, z)));
      }
    }
  }
}

// Every length and misalignment, so the vector body, the scalar tail and
// their seam are all exercised; nothing outside [0, n) is written.
TEST(QuantizeArrays, EveryLengthAndOffsetStaysInBounds) {
  std::mt19937 rng(3);
  const qgemm::QuantParams p{0.5f, 128};
  std::uniform_real_distribution<float> dist(-80.0f, 80.0f);
  std::vector<float> src(80);
  for (float& v : src) v = std::round(dist(rng)) * 0.25f;  // many ties
  for (size_t offset = 0; offset < 4; ++offset) {
    for (size_t n = 0; n + offset <= 64; ++n) {
      std::vector<uint8_t> q(80, 0xAA);
      qgemm::quantize(src.data() + offset, n, p, q.data() + offset);
      std::vector<float> f(80, -7.0f);
      qgemm::dequantize(q.data() + offset, n, p, f.data() + offset);
      for (size_t i = 0; i < 80; ++i) {
        const bool inside = i >= offset && i < offset + n;
        ASSERT_EQ(q[i], inside ? LoopQuantize(src[i], 0.5f, 128) : 0xAA)
            << "n " << n << " offset " << offset << " i " << i;
        ASSERT_EQ(f[i], inside ? LoopDequantize(q[i], 0.5f, 128) : -7.0f);
      }
    }
  }
}

TEST(QuantizeArrays, DefinedEdgeValues) {
  const qgemm::QuantParams p{1.0f, 128};
  const float x[] = {2.5f,   -2.5f,       0.5f,         -0.5f, 1.5f, -1.5f,
                     127.5f, -127.5f,     -128.5f,      kNaN,  kInf, -kInf,
                     126.5f, 0.49999997f, -0.49999997f, -0.0f};
  const uint8_t want[] = {131, 125, 129, 127, 130, 126, 255, 0,
                          0,   128, 255, 0,   255, 128, 128, 128};
  uint8_t q[16];
  qgemm::quantize(x, 16, p, q);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(q[i], want[i]) << "x = " << x[i];
}

TEST(QuantizeArrays, DequantizeAllCodes) {
  uint8_t codes[256];
  for (int i = 0; i < 256; ++i) codes[i] = static_cast<uint8_t>(i);
  for (float scale : kScales) {
    for (int z : kZeroPoints) {
      const qgemm::QuantParams p{scale, static_cast<uint8_t>(z)};
      float out[256];
      qgemm::dequantize(codes, 256, p, out);
      for (int i = 0; i < 256; ++i) {
        ASSERT_EQ(Bits(out[i]), Bits(LoopDequantize(codes[i], scale, z)));
      }
      EXPECT_EQ(out[z], 0.0f);
      // Round trip: each code comes back to itself (S >= FLT_MIN here).
      uint8_t again[256];
      qgemm::quantize(out, 256, p, again);
      for (int i = 0; i < 256; ++i) ASSERT_EQ(again[i], i) << "S " << scale;
    }
  }
}

TEST(QuantizeArrays, RejectBadParameters) {
  float x[4] = {0, 1, 2, 3};
  uint8_t q[4];
  for (float bad : {0.0f, -1.0f, kNaN, kInf, -0.0f}) {
    try {
      qgemm::quantize(x, 4, {bad, 0}, q);
      ADD_FAILURE() << "no exception for scale " << bad;
    } catch (const qgemm::Error& e) {
      EXPECT_EQ(e.status(), QGEMM_INVALID_ARGUMENT);
    }
    EXPECT_THROW(qgemm::dequantize(q, 4, {bad, 0}, x), qgemm::Error);
  }
  EXPECT_THROW(qgemm::quantize(nullptr, 4, {1.0f, 0}, q), qgemm::Error);
  EXPECT_THROW(qgemm::quantize(x, 4, {1.0f, 0}, nullptr), qgemm::Error);
  EXPECT_THROW(qgemm::dequantize(nullptr, 4, {1.0f, 0}, x), qgemm::Error);
  EXPECT_NO_THROW(qgemm::quantize(nullptr, 0, {1.0f, 0}, nullptr));
  EXPECT_NO_THROW(qgemm::dequantize(nullptr, 0, {1.0f, 0}, nullptr));
}

// ---- fake quantization -----------------------------------------------------

struct Range {
  float lo, hi;
};

TEST(FakeQuantize, WorkedExamples) {
  // 8 bits, [-1, 1]: the inference parameters, nudged [-128 S, 127 S].
  qgemm::FakeQuantParams p = qgemm::nudge_fake_quant_range(-1.0f, 1.0f, 8);
  EXPECT_EQ(p.quant_max, 255);
  EXPECT_EQ(p.scale, static_cast<float>(2.0 / 255));
  EXPECT_EQ(p.zero_point, 128);
  EXPECT_EQ(p.nudged_min(), -128.0f * p.scale);
  EXPECT_EQ(p.nudged_max(), 127.0f * p.scale);
  // 4 bits, [-1, 1]: n = 16, S = 2/15, Z = 7.5 -> 8, [a, b] = [-8S, 7S].
  p = qgemm::nudge_fake_quant_range(-1.0f, 1.0f, 4);
  EXPECT_EQ(p.quant_max, 15);
  EXPECT_EQ(p.scale, static_cast<float>(2.0 / 15));
  EXPECT_EQ(p.zero_point, 8);
  const float x[] = {0.0f, 1.0f, -1.0f, 5.0f, -5.0f, kNaN, kInf, -kInf};
  float y[8];
  qgemm::fake_quantize(x, 8, p, y);
  EXPECT_EQ(y[0], 0.0f);
  EXPECT_EQ(y[1], 7.0f * p.scale);   // 1/S = 7.4999997: level 7 (= b)
  EXPECT_EQ(y[2], -7.0f * p.scale);  // -1 lies inside [a, b] = [-8S, 7S]
  EXPECT_EQ(y[3], 7.0f * p.scale);   // clamped to b
  EXPECT_EQ(y[4], -8.0f * p.scale);  // clamped to a = -1.0667
  EXPECT_EQ(y[5], 0.0f);             // NaN -> 0
  EXPECT_EQ(y[6], 7.0f * p.scale);
  EXPECT_EQ(y[7], -8.0f * p.scale);
  // 4 bits, [-8, 7]: S = 1, Z = 8, so ties are exact; they round half away
  // from zero (-2.5 -> -3, where TensorFlow's shifted form gives -2).
  p = qgemm::nudge_fake_quant_range(-8.0f, 7.0f, 4);
  EXPECT_EQ(p.scale, 1.0f);
  EXPECT_EQ(p.zero_point, 8);
  const float ties[] = {2.5f, -2.5f, 0.5f, -0.5f, 6.5f, -7.5f, 7.5f, -8.5f};
  const float want[] = {3.0f, -3.0f, 1.0f, -1.0f, 7.0f, -8.0f, 7.0f, -8.0f};
  qgemm::fake_quantize(ties, 8, p, y);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(y[i], want[i]) << "x = " << ties[i];
  // [0.5, 2] extends to [0, 2]: Z = 0.
  p = qgemm::nudge_fake_quant_range(0.5f, 2.0f, 8);
  EXPECT_EQ(p.zero_point, 0);
  EXPECT_EQ(p.nudged_min(), 0.0f);
}

TEST(FakeQuantize, EightBitsIsExactlyDequantizeOfQuantize) {
  std::mt19937 rng(5);
  const Range ranges[] = {
      {-1.0f, 1.0f}, {0.0f, 6.0f}, {-3.3f, 0.7f}, {0.5f, 2.0f}, {-1e-3f, 0.0f}};
  for (const Range& r : ranges) {
    const qgemm::FakeQuantParams fp =
        qgemm::nudge_fake_quant_range(r.lo, r.hi, 8);
    const qgemm::QuantParams qp = qgemm::choose_quant_params(r.lo, r.hi);
    ASSERT_EQ(fp.scale, qp.scale);
    ASSERT_EQ(fp.zero_point, qp.zero_point);
    const std::vector<float> x = HardInputs(fp.scale, &rng);
    std::vector<uint8_t> q(x.size());
    std::vector<float> deq(x.size()), fq(x.size());
    qgemm::quantize(x.data(), x.size(), qp, q.data());
    qgemm::dequantize(q.data(), q.size(), qp, deq.data());
    qgemm::fake_quantize(x.data(), x.size(), fp, fq.data());
    for (size_t i = 0; i < x.size(); ++i) {
      ASSERT_EQ(Bits(fq[i]), Bits(deq[i])) << "x = " << x[i];
    }
  }
}

// The paper's formula in double: q(r) = round((clamp(r, a, b) - a) / s) s + a.
// Float and double may round a near-tie differently, so the level may
// differ only within 1e-4 of a tie.
TEST(FakeQuantize, FollowsThePaperFormula) {
  std::mt19937 rng(9);
  for (int bits : {2, 4, 8, 12, 16}) {
    for (const Range& r : {Range{-1.0f, 1.0f}, Range{-0.37f, 5.1f},
                           Range{0.0f, 1.0f}, Range{-8.0f, -1.0f}}) {
      SCOPED_TRACE(testing::Message()
                   << bits << " bits [" << r.lo << ", " << r.hi << "]");
      const qgemm::FakeQuantParams p =
          qgemm::nudge_fake_quant_range(r.lo, r.hi, bits);
      ASSERT_EQ(p.quant_max, (1 << bits) - 1);
      const double s = static_cast<double>(p.scale);
      const double a = -p.zero_point * s;
      const double b = (p.quant_max - p.zero_point) * s;
      std::vector<float> x = HardInputs(p.scale, &rng);
      std::uniform_real_distribution<float> span(r.lo * 1.5f - 1.0f,
                                                 r.hi * 1.5f + 1.0f);
      for (int i = 0; i < 2000; ++i) x.push_back(span(rng));
      std::vector<float> y(x.size());
      qgemm::fake_quantize(x.data(), x.size(), p, y.data());
      for (size_t i = 0; i < x.size(); ++i) {
        if (std::isnan(x[i])) {
          ASSERT_EQ(y[i], 0.0f);
          continue;
        }
        const double clamped =
            std::min(std::max(static_cast<double>(x[i]), a), b);
        const double t = (clamped - a) / s;
        const double want_level = std::round(t);
        const double got_level =
            std::round(static_cast<double>(y[i]) / s) + p.zero_point;
        // x / S in float is off by up to half an ulp of the quotient.
        const double tie_band = 1e-4 + std::fabs(t - p.zero_point) * 1.2e-7;
        if (std::fabs(t - std::floor(t) - 0.5) < tie_band) {
          ASSERT_LE(std::fabs(got_level - want_level), 1.0) << x[i];
        } else {
          ASSERT_EQ(got_level, want_level) << "x = " << x[i];
        }
        ASSERT_GE(y[i], p.nudged_min());
        ASSERT_LE(y[i], p.nudged_max());
      }
    }
  }
}

TEST(FakeQuantize, IdempotentZeroExactAtMostNLevelsAndInPlace) {
  std::mt19937 rng(13);
  for (int bits : {2, 3, 8}) {
    const qgemm::FakeQuantParams p =
        qgemm::nudge_fake_quant_range(-0.7f, 1.3f, bits);
    std::vector<float> x = HardInputs(p.scale, &rng);
    std::vector<float> y(x.size());
    qgemm::fake_quantize(x.data(), x.size(), p, y.data());
    std::vector<float> yy = y;
    qgemm::fake_quantize(yy.data(), yy.size(), p, yy.data());  // in place
    std::set<uint32_t> levels;
    for (size_t i = 0; i < x.size(); ++i) {
      ASSERT_EQ(Bits(yy[i]), Bits(y[i])) << "not idempotent at " << x[i];
      levels.insert(Bits(y[i] == 0.0f ? 0.0f : y[i]));
    }
    EXPECT_LE(levels.size(), size_t{1} << bits);
    EXPECT_GE(levels.size(), 3u);
    float zero = 0.0f;
    qgemm::fake_quantize(&zero, 1, p, &zero);
    EXPECT_EQ(zero, 0.0f);
  }
}

TEST(FakeQuantize, RejectsBadParameters) {
  EXPECT_THROW(qgemm::nudge_fake_quant_range(-1.0f, 1.0f, 1), qgemm::Error);
  EXPECT_THROW(qgemm::nudge_fake_quant_range(-1.0f, 1.0f, 17), qgemm::Error);
  EXPECT_THROW(qgemm::nudge_fake_quant_range(1.0f, -1.0f, 8), qgemm::Error);
  EXPECT_THROW(qgemm::nudge_fake_quant_range(kNaN, 1.0f, 8), qgemm::Error);
  float v = 1.0f;
  qgemm::FakeQuantParams p;
  p.zero_point = 256;  // > quant_max
  EXPECT_THROW(qgemm::fake_quantize(&v, 1, p, &v), qgemm::Error);
  p = qgemm::FakeQuantParams{};
  p.scale = 0.0f;
  EXPECT_THROW(qgemm::fake_quantize(&v, 1, p, &v), qgemm::Error);
  p = qgemm::FakeQuantParams{};
  p.quant_max = 0;
  p.zero_point = 0;
  EXPECT_THROW(qgemm::fake_quantize(&v, 1, p, &v), qgemm::Error);
  EXPECT_THROW(qgemm::fake_quantize(nullptr, 1, qgemm::FakeQuantParams{}, &v),
               qgemm::Error);
}

// quantize_dynamic: the matrix's own range (extended to 0) gives the
// parameters choose_quant_params gives for it, every element comes back
// within S / 2 of itself, real 0 exactly, and the stride's padding is
// never read into the range or the data.
TEST(QuantizeDynamic, RoundTripsWithinHalfAScaleAndZeroIsExact) {
  std::mt19937 rng(11);
  for (const Range r :
       {Range{-3.0f, 5.0f}, Range{0.25f, 9.0f}, Range{-7.5f, -0.5f},
        Range{-1e-3f, 1e-3f}, Range{-1e30f, 2e30f}, Range{0.0f, 0.0f}}) {
    for (size_t rows : {size_t{1}, size_t{4}, size_t{13}}) {
      const size_t cols = 37, ld = cols + 5;
      SCOPED_TRACE(testing::Message()
                   << "[" << r.lo << ", " << r.hi << "] rows " << rows);
      std::uniform_real_distribution<float> value(r.lo, r.hi);
      std::vector<float> x(rows * ld, std::nanf(""));  // padding: NaN
      for (size_t i = 0; i < rows; ++i) {
        for (size_t j = 0; j < cols; ++j) x[i * ld + j] = value(rng);
      }
      x[cols / 2] = 0.0f;
      x[(rows - 1) * ld + 1] = r.lo;
      x[(rows - 1) * ld + 2] = r.hi;
      const qgemm::QuantizedMatrix q =
          qgemm::quantize_dynamic(x.data(), rows, cols, ld);
      const qgemm::QuantParams want = qgemm::choose_quant_params(
          std::min(r.lo, 0.0f), std::max(r.hi, 0.0f));
      EXPECT_EQ(q.params.scale, want.scale);
      EXPECT_EQ(q.params.zero_point, want.zero_point);
      ASSERT_EQ(q.rows, rows);
      ASSERT_EQ(q.cols, cols);
      ASSERT_EQ(q.data.size(), rows * cols);
      EXPECT_EQ(q.view().stride, cols);
      EXPECT_EQ(qgemm::dequantize_value(q.data[cols / 2], q.params), 0.0f);
      EXPECT_EQ(q.data[cols / 2], q.params.zero_point);
      for (size_t i = 0; i < rows; ++i) {
        for (size_t j = 0; j < cols; ++j) {
          const float in = x[i * ld + j];
          const uint8_t code = q.data[i * cols + j];
          EXPECT_EQ(code, qgemm::quantize_value(in, q.params));
          const double back = qgemm::dequantize_value(code, q.params);
          // S / 2 plus the float rounding of S * (q - Z) itself.
          EXPECT_LE(std::fabs(back - static_cast<double>(in)),
                    static_cast<double>(q.params.scale) / 2.0 +
                        std::fabs(back) * static_cast<double>(FLT_EPSILON))
              << "x[" << i << "][" << j << "] = " << in;
        }
      }
    }
  }
}

TEST(QuantizeDynamic, EmptyAndBadInput) {
  const qgemm::QuantizedMatrix empty =
      qgemm::quantize_dynamic(nullptr, 0, 5, 5);
  EXPECT_EQ(empty.params.scale, 1.0f);
  EXPECT_EQ(empty.params.zero_point, 0);
  EXPECT_TRUE(empty.data.empty());
  EXPECT_EQ(empty.rows, 0u);
  EXPECT_EQ(empty.cols, 5u);
  std::vector<float> x = {1.0f, -2.0f, 3.0f, 4.0f};
  EXPECT_THROW(qgemm::quantize_dynamic(nullptr, 2, 2, 2), qgemm::Error);
  EXPECT_THROW(qgemm::quantize_dynamic(x.data(), 2, 2, 1), qgemm::Error);
  for (float bad : {std::nanf(""), INFINITY, -INFINITY}) {
    x[3] = bad;
    EXPECT_THROW(qgemm::quantize_dynamic(x.data(), 2, 2, 2), qgemm::Error)
        << bad;
  }
  // Padding past cols is not part of the matrix: NaN there is fine.
  x[3] = std::nanf("");
  EXPECT_NO_THROW(qgemm::quantize_dynamic(x.data(), 2, 1, 2));
}

}  // namespace
}  // namespace qgemm_test

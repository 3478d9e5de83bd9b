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
uint8_t LoopQuantize(float x, float scale, int zero_point, int quant_min = 0) {
  if (std::isnan(x)) {
    return static_cast<uint8_t>(std::max(zero_point, quant_min));
  }
  const double r = std::round(static_cast<double>(x / scale)) + zero_point;
  const double lo = quant_min;
  return static_cast<uint8_t>(r < lo ? lo : (r > 255.0 ? 255.0 : r));
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
      for (int quant_min : {0, 1}) {  // 1: narrow range, codes [1, 255]
        if (z < quant_min) continue;
        SCOPED_TRACE(testing::Message() << "S " << scale << " Z " << z
                                        << " quant_min " << quant_min);
        const qgemm::QuantParams p{scale, static_cast<uint8_t>(z),
                                   static_cast<uint8_t>(quant_min)};
        std::vector<uint8_t> q(x.size(), 0xAA);
        qgemm::quantize(x.data(), x.size(), p, q.data());
        for (size_t i = 0; i < x.size(); ++i) {
          ASSERT_EQ(q[i], LoopQuantize(x[i], scale, z, quant_min))
              << "x = " << x[i];
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
    for (bool narrow : {false, true}) {
      SCOPED_TRACE(testing::Message()
                   << "[" << r.lo << ", " << r.hi << "] narrow " << narrow);
      const qgemm::RangeOptions options{narrow};
      const qgemm::FakeQuantParams fp =
          qgemm::nudge_fake_quant_range(r.lo, r.hi, 8, options);
      const qgemm::QuantParams qp =
          qgemm::choose_quant_params(r.lo, r.hi, options);
      ASSERT_EQ(fp.scale, qp.scale);
      ASSERT_EQ(fp.zero_point, qp.zero_point);
      ASSERT_EQ(fp.quant_min, qp.quant_min);
      ASSERT_EQ(fp.nudged_min(), qp.nudged_min());
      const std::vector<float> x = HardInputs(fp.scale, &rng);
      std::vector<uint8_t> q(x.size());
      std::vector<float> deq(x.size()), fq(x.size());
      qgemm::quantize(x.data(), x.size(), qp, q.data());
      qgemm::dequantize(q.data(), q.size(), qp, deq.data());
      qgemm::fake_quantize(x.data(), x.size(), fp, fq.data());
      for (size_t i = 0; i < x.size(); ++i) {
        ASSERT_EQ(Bits(fq[i]), Bits(deq[i])) << "x = " << x[i];
        ASSERT_GE(q[i], qp.quant_min);
      }
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

// ---- Narrow range (the paper's weight tweak) -------------------------------

TEST(NarrowRange, WorkedExamples) {
  const qgemm::RangeOptions narrow{true};
  // [-1, 1]: S = 2/254 = 1/127, Z = 1 + 127: codes 1..255 are -127S..127S,
  // symmetric (int8 weights in [-127, 127]).
  qgemm::QuantParams p = qgemm::choose_quant_params(-1.0f, 1.0f, narrow);
  EXPECT_EQ(p.scale, static_cast<float>(2.0 / 254));
  EXPECT_EQ(p.zero_point, 128);
  EXPECT_EQ(p.quant_min, 1);
  EXPECT_EQ(p.nudged_min(), -127.0f * p.scale);
  EXPECT_EQ(p.nudged_max(), 127.0f * p.scale);
  EXPECT_EQ(qgemm::quantize_value(-1.0f, p), 1);
  EXPECT_EQ(qgemm::quantize_value(-100.0f, p), 1);  // never code 0
  EXPECT_EQ(qgemm::quantize_value(-kInf, p), 1);
  EXPECT_EQ(qgemm::quantize_value(1.0f, p), 255);
  EXPECT_EQ(qgemm::quantize_value(0.0f, p), 128);
  // [0, 6]: Z = 1; [-3, 0]: Z = 255; [0, 0]: S = 1, Z = 1 (0 stays exact).
  p = qgemm::choose_quant_params(0.0f, 6.0f, narrow);
  EXPECT_EQ(p.scale, static_cast<float>(6.0 / 254));
  EXPECT_EQ(p.zero_point, 1);
  p = qgemm::choose_quant_params(-3.0f, 0.0f, narrow);
  EXPECT_EQ(p.zero_point, 255);
  p = qgemm::choose_quant_params(0.0f, 0.0f, narrow);
  EXPECT_EQ(p.scale, 1.0f);
  EXPECT_EQ(p.zero_point, 1);
  EXPECT_EQ(qgemm::dequantize_value(qgemm::quantize_value(0.0f, p), p), 0.0f);
  // 4 bits narrow, [-1, 1]: levels 1..15, S = 2/14, Z = 1 + 7 = 8.
  const qgemm::FakeQuantParams f =
      qgemm::nudge_fake_quant_range(-1.0f, 1.0f, 4, narrow);
  EXPECT_EQ(f.quant_min, 1);
  EXPECT_EQ(f.quant_max, 15);
  EXPECT_EQ(f.scale, static_cast<float>(2.0 / 14));
  EXPECT_EQ(f.zero_point, 8);
  EXPECT_EQ(qgemm::fake_quantize_value(-5.0f, f), -7.0f * f.scale);
  EXPECT_EQ(qgemm::fake_quantize_value(5.0f, f), 7.0f * f.scale);
}

// Default options are the existing forms, byte for byte; narrow range
// keeps 0 exact and never uses the level below quant_min.
TEST(NarrowRange, DefaultOptionsAreTheOldFormsAndNarrowKeepsZeroExact) {
  std::mt19937 rng(17);
  std::uniform_real_distribution<float> log_mag(-20.0f, 20.0f);
  std::uniform_int_distribution<int> sign(0, 1);
  for (int i = 0; i < 5000; ++i) {
    float a = std::exp2(log_mag(rng)) * (sign(rng) ? 1.0f : -1.0f);
    float b = std::exp2(log_mag(rng)) * (sign(rng) ? 1.0f : -1.0f);
    if (a > b) std::swap(a, b);
    SCOPED_TRACE(testing::Message() << "[" << a << ", " << b << "]");
    const qgemm::QuantParams old = qgemm::choose_quant_params(a, b);
    const qgemm::QuantParams same = qgemm::choose_quant_params(a, b, {});
    ASSERT_EQ(Bits(same.scale), Bits(old.scale));
    ASSERT_EQ(same.zero_point, old.zero_point);
    ASSERT_EQ(same.quant_min, 0);
    for (int bits : {2, 8, 16}) {
      const qgemm::FakeQuantParams f0 =
          qgemm::nudge_fake_quant_range(a, b, bits);
      const qgemm::FakeQuantParams f1 =
          qgemm::nudge_fake_quant_range(a, b, bits, {});
      ASSERT_EQ(Bits(f1.scale), Bits(f0.scale));
      ASSERT_EQ(f1.zero_point, f0.zero_point);
      ASSERT_EQ(f1.quant_min, 0);
      ASSERT_EQ(f1.rule, qgemm::NudgeRule::kExtendToZero);
    }
    const qgemm::QuantParams n = qgemm::choose_quant_params(a, b, {true});
    float c_scale = 0.0f;
    uint8_t c_zero_point = 0;
    ASSERT_EQ(qgemm_choose_quant_params_narrow(a, b, &c_scale, &c_zero_point),
              QGEMM_OK);
    ASSERT_EQ(Bits(c_scale), Bits(n.scale));
    ASSERT_EQ(c_zero_point, n.zero_point);
    ASSERT_EQ(n.quant_min, 1);
    ASSERT_GE(n.zero_point, 1);
    ASSERT_EQ(qgemm::quantize_value(0.0f, n), n.zero_point);
    ASSERT_EQ(qgemm::quantize_value(-FLT_MAX, n), 1);
    const double lo = std::min(a, 0.0f), hi = std::max(b, 0.0f);
    const double step = n.scale;
    ASSERT_NEAR(n.nudged_min(), lo, 0.5 * step + 1e-6 * (hi - lo));
    ASSERT_NEAR(n.nudged_max(), hi, 0.5 * step + 1e-6 * (hi - lo));
  }
}

// ---- TensorFlow's FakeQuantWithMinMaxVars
// ------------------------------------

// TensorFlow's CPU kernel (tensorflow/core/kernels/fake_quant_ops_functor.h,
// TF since 2021: Nudge() and FakeQuantWithMinMaxVarsFunctor), written out here
// in its float operations and order, independently of the library. This
// file is built with -ffp-contract=off, as TensorFlow's Eigen expressions
// have no fused multiply-add.
struct TfNudged {
  float scale, inv_scale, nudged_min, nudged_max, quant_zero;
  int zero_point;
  // What qgemm accepts: elsewhere TensorFlow's outputs are 0 (for [0, 0])
  // or NaN, no quantization grid.
  bool accepted;
};

TfNudged TfNudge(float min, float max, int quant_min, int quant_max) {
  TfNudged t{};
  const auto quant_min_float = static_cast<float>(quant_min);
  const auto quant_max_float = static_cast<float>(quant_max);
  t.scale = (max - min) / (quant_max_float - quant_min_float);
  t.inv_scale = (quant_max_float - quant_min_float) / (max - min);
  const float zero_point_from_min = quant_min_float - min / t.scale;
  uint16_t nudged_zero_point;
  if (std::isnan(zero_point_from_min)) {
    // min == max: TensorFlow's float-to-uint16 cast of NaN is undefined
    // (UBSan stops there); such a range is refused below anyway.
    nudged_zero_point = 0;
  } else if (zero_point_from_min < quant_min_float) {
    nudged_zero_point = static_cast<uint16_t>(quant_min);
  } else if (zero_point_from_min > quant_max_float) {
    nudged_zero_point = static_cast<uint16_t>(quant_max);
  } else {
    nudged_zero_point = static_cast<uint16_t>(std::round(zero_point_from_min));
  }
  t.nudged_min = (quant_min_float - nudged_zero_point) * t.scale;
  t.nudged_max = (quant_max_float - nudged_zero_point) * t.scale;
  t.quant_zero = std::floor(-t.nudged_min * t.inv_scale + 0.5f);
  t.zero_point = nudged_zero_point;
  t.accepted = std::isfinite(min) && std::isfinite(max) && min < max &&
               std::isnormal(t.scale);
  return t;
}

float TfFakeQuant(float x, const TfNudged& t) {
  const float clamped = std::max(std::min(x, t.nudged_max), t.nudged_min);
  const float clamped_shifted = clamped - t.nudged_min;
  return std::floor(clamped_shifted / t.scale - t.quant_zero + 0.5f) * t.scale;
}

// Inputs at and around every feature of TensorFlow's formula: the nudged
// edges and their neighbours, values beyond them, the levels and the exact
// half-way points between them (and their neighbours), NaN, infinities,
// signed zeros, and random values over the range.
std::vector<float> TfInputs(const TfNudged& t, int levels, std::mt19937* rng) {
  const float a = t.nudged_min, b = t.nudged_max, s = t.scale;
  std::vector<float> x = {
      0.0f,  -0.0f,    kNaN,     kInf,         -kInf,
      a,     b,        FLT_MAX,  -FLT_MAX,     a - s,
      b + s, a * 2.0f, b * 2.0f, a - 0.5f * s, b + 0.5f * s};
  for (float e : {a, b}) {
    x.push_back(std::nextafter(e, kInf));
    x.push_back(std::nextafter(e, -kInf));
  }
  // All levels when few, else both ends and a spread of the middle.
  std::vector<int> ks;
  for (int k = 0; k <= levels; ++k) {
    if (levels <= 400 || k < 40 || k > levels - 40 || k % (levels / 200) == 0) {
      ks.push_back(k);
    }
  }
  for (int k : ks) {
    const float level = a + static_cast<float>(k) * s;
    const float half = a + (static_cast<float>(k) + 0.5f) * s;
    for (float v : {level, half}) {
      x.push_back(v);
      x.push_back(std::nextafter(v, kInf));
      x.push_back(std::nextafter(v, -kInf));
    }
    // The half-way point as a multiple of S from 0 (ties of x / S).
    x.push_back((static_cast<float>(k - t.zero_point) + 0.5f) * s);
  }
  std::uniform_real_distribution<float> unit(-0.1f, 1.1f);
  for (int i = 0; i < 1000; ++i) x.push_back(a + unit(*rng) * (b - a));
  return x;
}

struct TfCase {
  int bits;
  bool narrow;
};

class TensorFlowNudge : public testing::TestWithParam<TfCase> {};

TEST_P(TensorFlowNudge, MatchesTheReferenceBitForBit) {
  const TfCase c = GetParam();
  const int quant_min = c.narrow ? 1 : 0;
  const int quant_max = (1 << c.bits) - 1;
  const int levels = quant_max - quant_min;
  const float q = static_cast<float>(levels);
  std::vector<Range> ranges = {
      {-1.0f, 1.0f},
      {0.0f, 6.0f},
      {-6.0f, 0.0f},
      {-3.3f, 0.7f},
      {-0.37f, 5.1f},
      {0.5f, 2.0f},  // excludes 0
      {-2.0f, -0.5f},
      {1000.0f, 1001.0f},
      {-8.0f, -1.0f},
      {-0.75f, 0.75f},
      {-1e-30f, 1e-30f},
      {0.0f, 1e-33f},      // tiny
      {1.0f, 1.0000001f},  // one ulp wide
      {-1e38f, 1e38f},
      {-FLT_MAX / 2, FLT_MAX / 4},  // huge
      {-0.1f, 1e30f},
      {-1e30f, 1e-3f},
      // not accepted: empty, inverted, non-finite, S not a normal float
      {0.0f, 0.0f},
      {1.0f, 1.0f},
      {-2.0f, -2.0f},
      {1.0f, -1.0f},
      {kNaN, 1.0f},
      {-1.0f, kNaN},
      {-kInf, 1.0f},
      {-1.0f, kInf},
      {-FLT_MAX, FLT_MAX},
      {0.0f, 1e-40f},
      {1e-38f, 1.0000001e-38f}};
  // Exact ties of the zero point: max - min = levels gives S = 1 and
  // zero_point_from_min = quant_min + m + 1/2 (also scaled by powers of 2).
  for (int m : {0, levels / 2, levels - 1}) {
    const float lo = -(static_cast<float>(m) + 0.5f);
    for (float scale : {1.0f, 0.0078125f, 64.0f}) {
      ranges.push_back({lo * scale, (lo + q) * scale});
    }
  }
  std::mt19937 rng(static_cast<unsigned>(c.bits * 2 + c.narrow));
  std::uniform_real_distribution<float> log_mag(-30.0f, 30.0f);
  std::uniform_int_distribution<int> sign(0, 2);
  for (int i = 0; i < 60; ++i) {
    float a = std::exp2(log_mag(rng)) * (sign(rng) ? 1.0f : -1.0f);
    float b = std::exp2(log_mag(rng)) * (sign(rng) ? 1.0f : -1.0f);
    if (a > b) std::swap(a, b);
    ranges.push_back({a, b});
  }
  const qgemm::RangeOptions tf{c.narrow, qgemm::NudgeRule::kTensorFlow};
  int accepted = 0;
  for (const Range& r : ranges) {
    SCOPED_TRACE(testing::Message() << "[" << r.lo << ", " << r.hi << "]");
    const TfNudged t = TfNudge(r.lo, r.hi, quant_min, quant_max);
    if (!t.accepted) {
      EXPECT_THROW(qgemm::nudge_fake_quant_range(r.lo, r.hi, c.bits, tf),
                   qgemm::Error);
      if (c.bits == 8) {
        EXPECT_THROW(qgemm::choose_quant_params(r.lo, r.hi, tf), qgemm::Error);
      }
      continue;
    }
    ++accepted;
    const qgemm::FakeQuantParams p =
        qgemm::nudge_fake_quant_range(r.lo, r.hi, c.bits, tf);
    ASSERT_EQ(p.rule, qgemm::NudgeRule::kTensorFlow);
    ASSERT_EQ(p.quant_min, quant_min);
    ASSERT_EQ(p.quant_max, quant_max);
    ASSERT_EQ(Bits(p.scale), Bits(t.scale));
    ASSERT_EQ(p.zero_point, t.zero_point);
    ASSERT_EQ(Bits(p.nudged_min()), Bits(t.nudged_min));
    ASSERT_EQ(Bits(p.nudged_max()), Bits(t.nudged_max));
    // The library's shortcut for TensorFlow's quant_zero.
    ASSERT_EQ(t.quant_zero, static_cast<float>(t.zero_point - quant_min));
    if (c.bits == 8) {
      const qgemm::QuantParams qp = qgemm::choose_quant_params(r.lo, r.hi, tf);
      ASSERT_EQ(Bits(qp.scale), Bits(t.scale));
      ASSERT_EQ(qp.zero_point, t.zero_point);
      ASSERT_EQ(qp.quant_min, quant_min);
    }
    const std::vector<float> x = TfInputs(t, levels, &rng);
    std::vector<float> y(x.size());
    qgemm::fake_quantize(x.data(), x.size(), p, y.data());
    for (size_t i = 0; i < x.size(); ++i) {
      const float want = TfFakeQuant(x[i], t);
      const float one = qgemm::fake_quantize_value(x[i], p);
      if (std::isnan(want)) {
        ASSERT_TRUE(std::isnan(y[i])) << "x = " << x[i];
        ASSERT_TRUE(std::isnan(one)) << "x = " << x[i];
        continue;
      }
      ASSERT_EQ(Bits(y[i]), Bits(want))
          << "x = " << x[i] << " got " << y[i] << " want " << want;
      ASSERT_EQ(Bits(one), Bits(want)) << "x = " << x[i];
    }
  }
  EXPECT_GE(accepted, 40);
}

std::vector<TfCase> AllTfCases() {
  std::vector<TfCase> cases;
  for (int bits = 2; bits <= 16; ++bits) {
    for (bool narrow : {false, true}) cases.push_back({bits, narrow});
  }
  return cases;
}

std::string TfCaseName(const testing::TestParamInfo<TfCase>& i) {
  return std::to_string(i.param.bits) + "bits" +
         (i.param.narrow ? "Narrow" : "Wide");
}

INSTANTIATE_TEST_SUITE_P(BitsAndNarrow, TensorFlowNudge,
                         testing::ValuesIn(AllTfCases()), TfCaseName);

// Where the two rules differ, on numbers TensorFlow users know.
TEST(TensorFlowNudge, DiffersFromThePaperRuleAsDocumented) {
  const qgemm::RangeOptions tf{false, qgemm::NudgeRule::kTensorFlow};
  // [-1, 1], 8 bits: TensorFlow's float -rmin / S is just below 127.5, so
  // Z = 127 and the nudged range is [-127 S, 128 S] = [-0.99607843,
  // 1.0039216]; the paper's rule computes 127.5 exactly and rounds to 128.
  const qgemm::FakeQuantParams t = qgemm::nudge_fake_quant_range(-1, 1, 8, tf);
  EXPECT_EQ(t.zero_point, 127);
  EXPECT_FLOAT_EQ(t.nudged_min(), -0.99607843f);
  EXPECT_FLOAT_EQ(t.nudged_max(), 1.0039216f);
  EXPECT_EQ(qgemm::nudge_fake_quant_range(-1, 1, 8).zero_point, 128);
  // [0.5, 2] excludes 0: TensorFlow shifts it to [0, 1.5], the paper's rule
  // extends it to [0, 2].
  const qgemm::FakeQuantParams shifted =
      qgemm::nudge_fake_quant_range(0.5f, 2.0f, 8, tf);
  EXPECT_EQ(shifted.zero_point, 0);
  EXPECT_EQ(shifted.nudged_min(), 0.0f);
  EXPECT_FLOAT_EQ(shifted.nudged_max(), 1.5f);
  EXPECT_FLOAT_EQ(qgemm::nudge_fake_quant_range(0.5f, 2.0f, 8).nudged_max(),
                  2.0f);
  // 4 bits, [-8, 7]: S = 1, Z = 8. TensorFlow rounds x - a half up
  // (floor(t + 0.5)): -2.5 -> -2, where the paper's rule rounds x / S half
  // away from zero: -2.5 -> -3. NaN: TensorFlow's NaN, the paper rule's 0.
  const qgemm::FakeQuantParams t4 =
      qgemm::nudge_fake_quant_range(-8.0f, 7.0f, 4, tf);
  const qgemm::FakeQuantParams p4 = qgemm::nudge_fake_quant_range(-8, 7, 4);
  EXPECT_EQ(qgemm::fake_quantize_value(-2.5f, t4), -2.0f);
  EXPECT_EQ(qgemm::fake_quantize_value(-2.5f, p4), -3.0f);
  EXPECT_EQ(qgemm::fake_quantize_value(2.5f, t4), 3.0f);
  EXPECT_TRUE(std::isnan(qgemm::fake_quantize_value(kNaN, t4)));
  EXPECT_EQ(qgemm::fake_quantize_value(kNaN, p4), 0.0f);
}

TEST(RangeOptions, RejectBadParameters) {
  const auto bad_rule = static_cast<qgemm::NudgeRule>(7);
  EXPECT_THROW(qgemm::choose_quant_params(-1, 1, {false, bad_rule}),
               qgemm::Error);
  EXPECT_THROW(qgemm::nudge_fake_quant_range(-1, 1, 8, {false, bad_rule}),
               qgemm::Error);
  for (int bits : {-1, 0, 1, 17, 32}) {
    EXPECT_THROW(qgemm::nudge_fake_quant_range(-1, 1, bits, {true}),
                 qgemm::Error)
        << bits;
  }
  for (const auto& r : {Range{1, -1}, Range{kNaN, 1}, Range{-kInf, 0},
                        Range{-FLT_TRUE_MIN, 0}}) {
    EXPECT_THROW(qgemm::choose_quant_params(r.lo, r.hi, {true}), qgemm::Error);
    float s = 0.5f;
    uint8_t z = 7;
    EXPECT_EQ(qgemm_choose_quant_params_narrow(r.lo, r.hi, &s, &z),
              QGEMM_INVALID_ARGUMENT);
    EXPECT_STRNE(qgemm_last_error(), "");
    EXPECT_EQ(s, 0.5f);  // untouched
    EXPECT_EQ(z, 7);
  }
  float s = 0.0f;
  uint8_t z = 0;
  EXPECT_EQ(qgemm_choose_quant_params_narrow(-1, 1, nullptr, &z),
            QGEMM_INVALID_ARGUMENT);
  EXPECT_EQ(qgemm_choose_quant_params_narrow(-1, 1, &s, nullptr),
            QGEMM_INVALID_ARGUMENT);
  ASSERT_EQ(qgemm_choose_quant_params_narrow(-1, 1, &s, &z), QGEMM_OK);
  EXPECT_STREQ(qgemm_last_error(), "");
  EXPECT_EQ(z, 128);
  float v = 1.0f;
  qgemm::FakeQuantParams p;
  p.quant_min = 2;  // only 0 and 1 are levels' lower ends
  p.zero_point = 2;
  EXPECT_THROW(qgemm::fake_quantize(&v, 1, p, &v), qgemm::Error);
  p = qgemm::FakeQuantParams{};
  p.quant_min = 1;
  p.zero_point = 0;  // below quant_min
  EXPECT_THROW(qgemm::fake_quantize(&v, 1, p, &v), qgemm::Error);
  p = qgemm::FakeQuantParams{};
  p.quant_min = 1;
  p.quant_max = 1;
  p.zero_point = 1;
  EXPECT_THROW(qgemm::fake_quantize(&v, 1, p, &v), qgemm::Error);
  p = qgemm::FakeQuantParams{};
  p.rule = bad_rule;
  EXPECT_THROW(qgemm::fake_quantize(&v, 1, p, &v), qgemm::Error);
  EXPECT_EQ(v, 1.0f);
}

// ---- Observers (the paper's section 3.1)
// -------------------------------------

TEST(MinMaxObserver, AccumulatesTheRunningRange) {
  qgemm::MinMaxObserver obs;
  EXPECT_FALSE(obs.has_range());
  EXPECT_THROW(obs.quant_params(), qgemm::Error);
  EXPECT_THROW(obs.fake_quant_params(), qgemm::Error);
  obs.observe(nullptr, 0);  // nothing
  EXPECT_FALSE(obs.has_range());
  const float w1[] = {0.25f, 0.5f, 0.75f};  // all positive: min is 0.25
  obs.observe(w1, 3);
  EXPECT_TRUE(obs.has_range());
  EXPECT_EQ(obs.min(), 0.25f);
  EXPECT_EQ(obs.max(), 0.75f);
  const float w2[] = {-1.5f, 0.0f, 0.5f};
  obs.observe(w2, 3);
  EXPECT_EQ(obs.min(), -1.5f);
  EXPECT_EQ(obs.max(), 0.75f);
  // Bad input leaves it as it was.
  const float bad[] = {9.0f, kNaN, -9.0f};
  EXPECT_THROW(obs.observe(bad, 3), qgemm::Error);
  const float inf[] = {-kInf};
  EXPECT_THROW(obs.observe(inf, 1), qgemm::Error);
  EXPECT_THROW(obs.observe(nullptr, 2), qgemm::Error);
  EXPECT_EQ(obs.min(), -1.5f);
  EXPECT_EQ(obs.max(), 0.75f);
  for (bool narrow : {false, true}) {
    const qgemm::RangeOptions o{narrow};
    const qgemm::QuantParams got = obs.quant_params(o);
    const qgemm::QuantParams want = qgemm::choose_quant_params(-1.5f, 0.75f, o);
    EXPECT_EQ(got.scale, want.scale);
    EXPECT_EQ(got.zero_point, want.zero_point);
    EXPECT_EQ(got.quant_min, want.quant_min);
    const qgemm::FakeQuantParams f = obs.fake_quant_params(5, o);
    const qgemm::FakeQuantParams g =
        qgemm::nudge_fake_quant_range(-1.5f, 0.75f, 5, o);
    EXPECT_EQ(f.scale, g.scale);
    EXPECT_EQ(f.zero_point, g.zero_point);
  }
  obs.reset();
  EXPECT_FALSE(obs.has_range());
  EXPECT_EQ(obs.min(), 0.0f);
}

// The moving average against the update written out here: the first batch
// sets the range, each later one moves it by w = (float)(1 - decay).
TEST(MovingAverageObserver, FollowsTheDocumentedUpdate) {
  for (double decay : {0.0, 0.5, 0.9, 0.99, 0.999, 1.0}) {
    SCOPED_TRACE(testing::Message() << "decay " << decay);
    qgemm::MovingAverageObserver obs(decay);
    EXPECT_EQ(obs.decay(), decay);
    EXPECT_FALSE(obs.has_range());
    EXPECT_THROW(obs.quant_params(), qgemm::Error);
    const auto w = static_cast<float>(1.0 - decay);
    std::mt19937 rng(23);
    std::uniform_real_distribution<float> value(-4.0f, 6.0f);
    float want_min = 0.0f, want_max = 0.0f;
    for (int batch = 0; batch < 50; ++batch) {
      std::vector<float> x(1 + (batch + 3) % 7);  // the last has 2
      for (float& v : x) v = value(rng) * (1.0f + static_cast<float>(batch));
      const float bmin = *std::min_element(x.begin(), x.end());
      const float bmax = *std::max_element(x.begin(), x.end());
      if (batch == 0) {
        want_min = bmin;
        want_max = bmax;
      } else {
        want_min = want_min - (want_min - bmin) * w;
        want_max = want_max - (want_max - bmax) * w;
        want_max = std::max(want_max, want_min);
      }
      obs.observe(x.data(), x.size());
      ASSERT_EQ(Bits(obs.min()), Bits(want_min)) << "batch " << batch;
      ASSERT_EQ(Bits(obs.max()), Bits(want_max)) << "batch " << batch;
      if (decay == 0.0) {  // the last batch's range, up to the rounding
        const float tol = 4e-7f * (std::fabs(bmin) + std::fabs(bmax) + 1.0f) *
                          (1.0f + static_cast<float>(batch));
        ASSERT_NEAR(obs.min(), bmin, tol);
        ASSERT_NEAR(obs.max(), bmax, tol);
      }
      if (decay == 1.0) {  // the first batch's range, exactly
        ASSERT_EQ(obs.min(), want_min);
      }
    }
    const qgemm::FakeQuantParams f =
        obs.fake_quant_params(8, {true, qgemm::NudgeRule::kTensorFlow});
    const qgemm::FakeQuantParams g = qgemm::nudge_fake_quant_range(
        want_min, want_max, 8, {true, qgemm::NudgeRule::kTensorFlow});
    EXPECT_EQ(f.scale, g.scale);
    EXPECT_EQ(f.zero_point, g.zero_point);
    const qgemm::QuantParams q = obs.quant_params();
    EXPECT_EQ(q.scale, qgemm::choose_quant_params(want_min, want_max).scale);
  }
}

// One-value batches with decay 0: min and max are each rounded on their
// own and could cross; the observer keeps min <= max.
TEST(MovingAverageObserver, NeverInvertsTheRange) {
  qgemm::MovingAverageObserver obs(0.0);
  std::mt19937 rng(29);
  std::uniform_real_distribution<float> value(-300.0f, 300.0f);
  for (int i = 0; i < 2000; ++i) {
    // A wide batch, then a one-value batch that both ends move onto.
    const float wide[] = {value(rng), value(rng)};
    obs.observe(wide, 2);
    const float x = value(rng);
    obs.observe(&x, 1);
    ASSERT_LE(obs.min(), obs.max()) << "after " << x;
  }
}

TEST(MovingAverageObserver, ConvergesToAConstantRange) {
  qgemm::MovingAverageObserver obs(0.9);
  const float first[] = {-10.0f, 10.0f};
  obs.observe(first, 2);
  const float steady[] = {-1.0f, 0.0f, 2.0f};
  for (int i = 0; i < 400; ++i) obs.observe(steady, 3);
  EXPECT_NEAR(obs.min(), -1.0f, 1e-5f);
  EXPECT_NEAR(obs.max(), 2.0f, 1e-5f);
}

TEST(MovingAverageObserver, RejectsBadInputAndStaysUnchanged) {
  for (double decay : {-0.1, 1.1, std::nan(""),
                       -std::numeric_limits<double>::infinity(), 1e300}) {
    EXPECT_THROW(qgemm::MovingAverageObserver{decay}, qgemm::Error) << decay;
  }
  qgemm::MovingAverageObserver obs(0.5);
  const float first[] = {-1.0f, 3.0f};
  obs.observe(first, 2);
  for (float bad : {kNaN, kInf, -kInf}) {
    const float x[] = {0.0f, bad};
    EXPECT_THROW(obs.observe(x, 2), qgemm::Error);
    EXPECT_EQ(obs.min(), -1.0f);
    EXPECT_EQ(obs.max(), 3.0f);
  }
  EXPECT_THROW(obs.observe(nullptr, 1), qgemm::Error);
  obs.observe(nullptr, 0);  // an empty batch moves nothing
  EXPECT_EQ(obs.min(), -1.0f);
  // min - batch_min overflows float: rejected, unchanged.
  qgemm::MovingAverageObserver huge(0.5);
  const float big[] = {-FLT_MAX, FLT_MAX};
  huge.observe(big, 2);
  const float flip[] = {FLT_MAX};
  EXPECT_THROW(huge.observe(flip, 1), qgemm::Error);
  EXPECT_EQ(huge.min(), -FLT_MAX);
  EXPECT_EQ(huge.max(), FLT_MAX);
  huge.reset();
  EXPECT_FALSE(huge.has_range());
}

}  // namespace
}  // namespace qgemm_test

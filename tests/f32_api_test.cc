// The float output's argument contract (include/qgemm/qgemm.h, "Float
// output"): bad scales and biases, bad shapes and NULLs are
// QGEMM_INVALID_ARGUMENT with C untouched and a message that names the
// culprit, for the unpacked and the packed call; empty sizes and k = 0 are
// valid. The numerics themselves are KernelTest's (every table, the
// adversarial cases, bit-compared with tests/reference.cc).
#include <gtest/gtest.h>
#include <qgemm/qgemm.h>

#include <algorithm>
#include <cctype>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

namespace {

constexpr float kUnwritten = -12345.5f;

struct Problem {
  size_t m = 5, n = 7, k = 9;
  std::vector<uint8_t> a = std::vector<uint8_t>(5 * 9, 3);
  std::vector<uint8_t> b = std::vector<uint8_t>(9 * 7, 5);
  std::vector<float> c = std::vector<float>(5 * 7, kUnwritten);
  std::vector<float> b_scale = std::vector<float>(7, 0.5f);
  std::vector<float> bias = std::vector<float>(7, 1.25f);
  qgemm_dequant dq{};
  Problem() {
    dq.a_scale = 0.25f;
    dq.b_scale = b_scale.data();
    dq.per_channel = 1;
    dq.bias = bias.data();
  }
  qgemm_status Unpacked() {
    return qgemm_u8u8_f32(nullptr, m, n, k, a.data(), k, 1, b.data(), n, 2, &dq,
                          c.data(), n);
  }
  qgemm_status Packed() {
    qgemm_packed_b* packed = nullptr;
    qgemm_status st =
        qgemm_pack_b(nullptr, k, n, b.data(), n, QGEMM_LAYOUT_KN, 2, &packed);
    if (st != QGEMM_OK) return st;
    st = qgemm_u8u8_f32_packed(nullptr, m, a.data(), k, 1, packed, &dq,
                               c.data(), n);
    qgemm_packed_b_destroy(packed);
    return st;
  }
  bool CUntouched() const {
    for (float x : c) {
      if (std::memcmp(&x, &kUnwritten, sizeof x) != 0) return false;
    }
    return true;
  }
};

TEST(F32Api, ValidProblemComputesTheFormula) {
  for (bool packed : {false, true}) {
    Problem p;
    ASSERT_EQ(packed ? p.Packed() : p.Unpacked(), QGEMM_OK);
    EXPECT_STREQ(qgemm_last_error(), "");
    // (3 - 1) * (5 - 2) * 9 = 54; 54 * (0.25 * 0.5) + 1.25 = 8 exactly.
    for (float x : p.c) EXPECT_EQ(x, 8.0f);
  }
}

struct BadDequant {
  const char* what;
  void (*breaks)(Problem&);
  const char* message_part;
};

const float kNaN = std::numeric_limits<float>::quiet_NaN();
const float kInf = std::numeric_limits<float>::infinity();

const BadDequant kBadDequants[] = {
    {"null dequant", [](Problem& p) { p.dq.b_scale = nullptr; }, "b_scale"},
    {"per_channel 2", [](Problem& p) { p.dq.per_channel = 2; }, "per_channel"},
    {"a_scale NaN", [](Problem& p) { p.dq.a_scale = kNaN; }, "a_scale"},
    {"a_scale inf", [](Problem& p) { p.dq.a_scale = kInf; }, "a_scale"},
    {"a_scale -inf", [](Problem& p) { p.dq.a_scale = -kInf; }, "a_scale"},
    {"a_scale 0", [](Problem& p) { p.dq.a_scale = 0.0f; }, "a_scale"},
    {"a_scale -0", [](Problem& p) { p.dq.a_scale = -0.0f; }, "a_scale"},
    {"a_scale negative", [](Problem& p) { p.dq.a_scale = -0.5f; }, "a_scale"},
    {"a_scale subnormal", [](Problem& p) { p.dq.a_scale = FLT_MIN / 2; },
     "a_scale"},
    {"a_scale largest subnormal",
     [](Problem& p) { p.dq.a_scale = std::nextafter(FLT_MIN, 0.0f); },
     "a_scale"},
    {"b_scale NaN per tensor",
     [](Problem& p) {
       p.dq.per_channel = 0;
       p.b_scale[0] = kNaN;
     },
     "b_scale[0]"},
    {"b_scale 0 in the last channel", [](Problem& p) { p.b_scale[6] = 0.0f; },
     "b_scale[6]"},
    {"b_scale inf", [](Problem& p) { p.b_scale[3] = kInf; }, "b_scale[3]"},
    {"b_scale subnormal", [](Problem& p) { p.b_scale[2] = FLT_TRUE_MIN; },
     "b_scale[2]"},
    {"b_scale negative", [](Problem& p) { p.b_scale[1] = -FLT_MIN; },
     "b_scale[1]"},
    {"bias NaN", [](Problem& p) { p.bias[4] = kNaN; }, "bias[4]"},
    {"bias inf", [](Problem& p) { p.bias[0] = kInf; }, "bias[0]"},
    {"bias -inf in the last column", [](Problem& p) { p.bias[6] = -kInf; },
     "bias[6]"},
    {"C NULL",
     [](Problem& p) {
       p.c.clear();
       p.c.shrink_to_fit();
     },
     "C is NULL"},
};

class BadDequantTest : public testing::TestWithParam<BadDequant> {};

TEST_P(BadDequantTest, IsInvalidWithCUntouched) {
  for (bool packed : {false, true}) {
    Problem p;
    GetParam().breaks(p);
    if (std::string(GetParam().what) == "null dequant") {
      // The whole struct missing, too.
      EXPECT_EQ(qgemm_u8u8_f32(nullptr, p.m, p.n, p.k, p.a.data(), p.k, 1,
                               p.b.data(), p.n, 2, nullptr, p.c.data(), p.n),
                QGEMM_INVALID_ARGUMENT);
      EXPECT_NE(std::string(qgemm_last_error()).find("dequant is NULL"),
                std::string::npos);
    }
    EXPECT_EQ(packed ? p.Packed() : p.Unpacked(), QGEMM_INVALID_ARGUMENT)
        << GetParam().what;
    EXPECT_NE(std::string(qgemm_last_error()).find(GetParam().message_part),
              std::string::npos)
        << GetParam().what << ": " << qgemm_last_error();
    EXPECT_TRUE(p.CUntouched()) << GetParam().what;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Api, BadDequantTest, testing::ValuesIn(kBadDequants),
    [](const testing::TestParamInfo<BadDequant>& param_info) {
      std::string name;
      for (const char* s = param_info.param.what; *s; ++s) {
        name += std::isalnum(static_cast<unsigned char>(*s)) ? *s : '_';
      }
      return name;
    });

TEST(F32Api, SmallestAndLargestValidScalesAreAccepted) {
  for (float a_scale : {FLT_MIN, FLT_MAX}) {
    for (float b_scale : {FLT_MIN, FLT_MAX}) {
      Problem p;
      p.dq.a_scale = a_scale;
      p.dq.per_channel = 0;
      p.b_scale[0] = b_scale;
      p.bias[3] = -FLT_MAX;
      ASSERT_EQ(p.Unpacked(), QGEMM_OK) << qgemm_last_error();
      // s = a_scale * b_scale: 0 (underflow), FLT_MAX * FLT_MIN = 4, or inf.
      const float s = a_scale * b_scale;
      EXPECT_EQ(p.c[0], std::fmaf(54.0f, s, 1.25f));
      EXPECT_EQ(p.c[3], std::fmaf(54.0f, s, -FLT_MAX));
    }
  }
}

TEST(F32Api, BadShapesAreInvalidWithCUntouched) {
  Problem p;
  // ldc < n.
  EXPECT_EQ(qgemm_u8u8_f32(nullptr, p.m, p.n, p.k, p.a.data(), p.k, 1,
                           p.b.data(), p.n, 2, &p.dq, p.c.data(), p.n - 1),
            QGEMM_INVALID_ARGUMENT);
  EXPECT_NE(std::string(qgemm_last_error()).find("stride of C"),
            std::string::npos);
  // C past the address space: rows * ldc floats overflow.
  EXPECT_EQ(qgemm_u8u8_f32(nullptr, 3, p.n, p.k, p.a.data(), p.k, 1, p.b.data(),
                           p.n, 2, &p.dq, p.c.data(),
                           std::numeric_limits<size_t>::max() / 4),
            QGEMM_INVALID_ARGUMENT);
  // A NULL with rows to read.
  EXPECT_EQ(qgemm_u8u8_f32(nullptr, p.m, p.n, p.k, nullptr, p.k, 1, p.b.data(),
                           p.n, 2, &p.dq, p.c.data(), p.n),
            QGEMM_INVALID_ARGUMENT);
  // Packed: NULL B, A narrower than its k.
  EXPECT_EQ(qgemm_u8u8_f32_packed(nullptr, p.m, p.a.data(), p.k, 1, nullptr,
                                  &p.dq, p.c.data(), p.n),
            QGEMM_INVALID_ARGUMENT);
  qgemm_packed_b* packed = nullptr;
  ASSERT_EQ(qgemm_pack_b(nullptr, p.k, p.n, p.b.data(), p.n, QGEMM_LAYOUT_KN, 2,
                         &packed),
            QGEMM_OK);
  EXPECT_EQ(qgemm_u8u8_f32_packed(nullptr, p.m, p.a.data(), p.k - 1, 1, packed,
                                  &p.dq, p.c.data(), p.n),
            QGEMM_INVALID_ARGUMENT);
  EXPECT_EQ(qgemm_u8u8_f32_packed(nullptr, p.m, p.a.data(), p.k, 1, packed,
                                  nullptr, p.c.data(), p.n),
            QGEMM_INVALID_ARGUMENT);
  qgemm_packed_b_destroy(packed);
  EXPECT_TRUE(p.CUntouched());
}

TEST(F32Api, EmptySizesWriteNothingAndZeroDepthGivesTheBias) {
  Problem p;
  // m = 0 and n = 0: OK, nothing written, even with C NULL.
  EXPECT_EQ(qgemm_u8u8_f32(nullptr, 0, p.n, p.k, p.a.data(), p.k, 1, p.b.data(),
                           p.n, 2, &p.dq, nullptr, p.n),
            QGEMM_OK);
  EXPECT_EQ(qgemm_u8u8_f32(nullptr, p.m, 0, p.k, p.a.data(), p.k, 1, p.b.data(),
                           0, 2, &p.dq, p.c.data(), 0),
            QGEMM_OK);
  EXPECT_TRUE(p.CUntouched());
  // k = 0: acc = 0, C = fmaf(0, s, bias) = bias; A and B may be NULL.
  p.bias[2] = -0.0f;  // fmaf(+0, s, -0) = +0 under round to nearest
  p.bias[5] = -FLT_MAX;
  for (bool packed : {false, true}) {
    std::fill(p.c.begin(), p.c.end(), kUnwritten);
    if (packed) {
      qgemm_packed_b* pb = nullptr;
      ASSERT_EQ(
          qgemm_pack_b(nullptr, 0, p.n, nullptr, p.n, QGEMM_LAYOUT_KN, 2, &pb),
          QGEMM_OK);
      ASSERT_EQ(qgemm_u8u8_f32_packed(nullptr, p.m, nullptr, 0, 1, pb, &p.dq,
                                      p.c.data(), p.n),
                QGEMM_OK);
      qgemm_packed_b_destroy(pb);
    } else {
      ASSERT_EQ(qgemm_u8u8_f32(nullptr, p.m, p.n, 0, nullptr, 0, 1, nullptr,
                               p.n, 2, &p.dq, p.c.data(), p.n),
                QGEMM_OK);
    }
    for (size_t i = 0; i < p.m; ++i) {
      for (size_t j = 0; j < p.n; ++j) {
        const float want = std::fmaf(0.0f, 0.125f, p.bias[j]);
        const float got = p.c[i * p.n + j];
        EXPECT_EQ(std::memcmp(&got, &want, sizeof got), 0)
            << "i=" << i << " j=" << j << " got " << got;
      }
    }
  }
  // Without a bias: +0.0f.
  p.dq.bias = nullptr;
  ASSERT_EQ(qgemm_u8u8_f32(nullptr, p.m, p.n, 0, nullptr, 0, 1, nullptr, p.n, 2,
                           &p.dq, p.c.data(), p.n),
            QGEMM_OK);
  for (float x : p.c) EXPECT_FALSE(std::signbit(x) || x != 0.0f) << x;
}

}  // namespace

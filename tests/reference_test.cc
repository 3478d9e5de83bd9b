// The oracle's own checks: worked examples of docs/design.md's definitions.
#include "reference.h"

#include <gtest/gtest.h>

#include <climits>

namespace qgemm_test {
namespace {

TEST(ReferenceTest, SaturatingRoundingDoublingHighMul) {
  EXPECT_EQ(RefSaturatingRoundingDoublingHighMul(INT32_MIN, INT32_MIN),
            INT32_MAX);
  EXPECT_EQ(RefSaturatingRoundingDoublingHighMul(1 << 30, 1 << 30), 1 << 29);
  // round(a*b/2^31), ties toward +infinity: 3 * 2^30 / 2^31 = 1.5 -> 2.
  EXPECT_EQ(RefSaturatingRoundingDoublingHighMul(3, 1 << 30), 2);
  // -1.5 -> -1 (ties toward +infinity, as VQRDMULH).
  EXPECT_EQ(RefSaturatingRoundingDoublingHighMul(-3, 1 << 30), -1);
  EXPECT_EQ(RefSaturatingRoundingDoublingHighMul(INT32_MAX, INT32_MAX),
            INT32_MAX - 1);
  EXPECT_EQ(RefSaturatingRoundingDoublingHighMul(INT32_MIN, INT32_MAX),
            INT32_MIN + 1);
  EXPECT_EQ(RefSaturatingRoundingDoublingHighMul(12345, 0), 0);
}

TEST(ReferenceTest, RoundingDivideByPOT) {
  EXPECT_EQ(RefRoundingDivideByPOT(5, 1), 3);    // 2.5 -> 3
  EXPECT_EQ(RefRoundingDivideByPOT(-5, 1), -3);  // -2.5 -> -3 (away from 0)
  EXPECT_EQ(RefRoundingDivideByPOT(-6, 2), -2);  // -1.5 -> -2
  EXPECT_EQ(RefRoundingDivideByPOT(-5, 2), -1);  // -1.25 -> -1
  EXPECT_EQ(RefRoundingDivideByPOT(7, 0), 7);
  EXPECT_EQ(RefRoundingDivideByPOT(INT32_MIN, 31), -1);
  EXPECT_EQ(RefRoundingDivideByPOT(INT32_MAX, 31), 1);
  EXPECT_EQ(RefRoundingDivideByPOT((1 << 30) - 1, 31), 0);
  EXPECT_EQ(RefRoundingDivideByPOT(1 << 30, 31), 1);  // 0.5 -> 1
}

// RDBPOT as docs/design.md writes it (mask/threshold), to check the oracle's
// own exact-rounding formulation against it on many values.
int32_t DesignRdbpot(int32_t x, int e) {
  const int32_t mask = static_cast<int32_t>((int64_t{1} << e) - 1);
  const int32_t rem = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> e) + (rem > threshold ? 1 : 0);
}

TEST(ReferenceTest, RoundingDivideByPOTMatchesDesignFormula) {
  uint32_t s = 12345;
  for (int i = 0; i < 200000; ++i) {
    s = s * 1664525u + 1013904223u;
    const auto x = static_cast<int32_t>(s);
    const int e = static_cast<int>((s >> 7) % 32);
    ASSERT_EQ(RefRoundingDivideByPOT(x, e), DesignRdbpot(x, e))
        << x << " " << e;
  }
}

TEST(ReferenceTest, RequantizeWorkedExamples) {
  // acc 1000, M = 0.5 (M0 = 2^30, shift 0): 500; + Zc 10 = 510 -> 255.
  EXPECT_EQ(RefRequantize(1000, 1 << 30, 0, 10, 0, 255), 255);
  // acc 1000, M = 2^-4 * 0.5: 1000/32 = 31.25 -> 31; + 100 = 131.
  EXPECT_EQ(RefRequantize(1000, 1 << 30, -4, 100, 0, 255), 131);
  // acc -1000: -31.25 -> -31; + 100 = 69.
  EXPECT_EQ(RefRequantize(-1000, 1 << 30, -4, 100, 0, 255), 69);
  // Left shift saturates before the multiply: INT32_MAX * 0.5 -> 2^30.
  EXPECT_EQ(RefRequantize(1 << 29, 1 << 30, 3, 0, 0, 255), 255);
  EXPECT_EQ(RefRequantize(-(1 << 29), 1 << 30, 3, 255, 0, 255), 0);
  // Narrow clamp.
  EXPECT_EQ(RefRequantize(0, 1 << 30, 0, 128, 100, 110), 110);
}

TEST(ReferenceTest, GemmSmallByHand) {
  // A = [1 2; 3 4] (za = 1), B = [5 6; 7 8] (zb = 5), bias = [10, -10].
  const uint8_t a[] = {1, 2, 3, 4};
  const uint8_t b[] = {5, 6, 7, 8};
  const int32_t bias[] = {10, -10};
  int32_t c[4];
  RefGemmS32(2, 2, 2, a, 2, 1, b, 2, false, 5, bias, c, 2);
  // (A-1) = [0 1; 2 3], (B-5) = [0 1; 2 3]: product [2 3; 6 11].
  EXPECT_EQ(c[0], 12);
  EXPECT_EQ(c[1], -7);
  EXPECT_EQ(c[2], 16);
  EXPECT_EQ(c[3], 1);
  // The same B given as n x k.
  const uint8_t bt[] = {5, 7, 6, 8};
  int32_t c2[4];
  RefGemmS32(2, 2, 2, a, 2, 1, bt, 2, true, 5, bias, c2, 2);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(c2[i], c[i]);
}

TEST(ReferenceTest, GemmWrapsBeyondInt32) {
  // 40000 * 255 * 255 = 2,601,000,000 > INT32_MAX: wraps to negative.
  std::vector<uint8_t> a(40000, 255), b(40000, 255);
  int32_t c;
  RefGemmS32(1, 1, 40000, a.data(), 40000, 0, b.data(), 1, false, 0, nullptr,
             &c, 1);
  EXPECT_EQ(c, static_cast<int32_t>(2601000000u));
}

}  // namespace
}  // namespace qgemm_test

// Hostile sizes: each case names the exact status the C API must return.
// Sizes near SIZE_MAX, products that overflow, strides whose last row ends
// past the address space, packed sizes that overflow, k beyond 33025 where
// the int32 sum wraps (defined, the same on every table), and NaN, infinite
// and negative values in the quantization helpers.
#include <gtest/gtest.h>
#include <qgemm/qgemm.h>

#include <cctype>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "tests/reference.h"
#include "tests/tables_under_test.h"

namespace qgemm_test {
namespace {

constexpr size_t kMax = std::numeric_limits<size_t>::max();
constexpr size_t kPtrdiffMax =
    static_cast<size_t>(std::numeric_limits<ptrdiff_t>::max());
// Just over the square root of SIZE_MAX (2^33 on 64-bit targets, 2^17 on
// 32-bit ones): the product of two of them overflows size_t.
constexpr size_t kOverRoot = size_t{1}
                             << (std::numeric_limits<size_t>::digits / 2 + 1);

struct SizeCase {
  const char* what;
  size_t m, n, k, lda, ldb, ldc;
};

// All bad input: the library must refuse them before reading A or B (which
// are one-byte buffers here) or writing C.
const SizeCase kBadSizes[] = {
    {"m = SIZE_MAX", kMax, 1, 1, 1, 1, 1},
    {"n = SIZE_MAX", 1, kMax, 1, 1, kMax, kMax},
    {"k = SIZE_MAX", 1, 1, kMax, kMax, 1, 1},
    {"m * k overflows", kOverRoot, 1, kOverRoot, kOverRoot, 1, 1},
    {"k * n overflows", 1, kOverRoot, kOverRoot, kOverRoot, kOverRoot,
     kOverRoot},
    {"m * n overflows", kOverRoot, kOverRoot, 1, 1, kOverRoot, kOverRoot},
    {"lda = SIZE_MAX, 2 rows", 2, 1, 1, kMax, 1, 1},
    {"ldb = SIZE_MAX, 2 rows", 1, 1, 2, 2, kMax, 1},
    {"ldc = SIZE_MAX, 2 rows", 2, 1, 1, 1, 1, kMax},
    {"last row of A ends past SIZE_MAX", 3, 1, 2, kMax / 2, 1, 1},
    {"A spans more than PTRDIFF_MAX", 2, 1, 1, kPtrdiffMax, 1, 1},
    {"C spans more than PTRDIFF_MAX", 2, 1, 1, 1, 1, kPtrdiffMax},
    {"lda < k", 2, 2, 5, 4, 2, 2},
    {"ldb < n", 2, 5, 2, 2, 4, 5},
    {"ldc < n", 2, 5, 2, 2, 5, 4},
};

class BadSizes : public testing::TestWithParam<SizeCase> {};

TEST_P(BadSizes, RequantIsInvalidWithCUntouched) {
  const SizeCase& s = GetParam();
  const uint8_t a = 1, b = 2;
  uint8_t c[64];
  std::fill(std::begin(c), std::end(c), 0xC3);
  const int32_t mult = 1 << 30, shift = 0;
  qgemm_requant rq{};
  rq.multiplier = &mult;
  rq.shift = &shift;
  rq.c_max = 255;
  EXPECT_EQ(qgemm_u8u8_requant(nullptr, s.m, s.n, s.k, &a, s.lda, 0, &b, s.ldb,
                               0, &rq, c, s.ldc),
            QGEMM_INVALID_ARGUMENT)
      << s.what;
  // Per-channel with n huge: the arrays hold 1 entry; the shape check must
  // come before the library walks n of them.
  rq.per_channel = 1;
  EXPECT_EQ(qgemm_u8u8_requant(nullptr, s.m, s.n, s.k, &a, s.lda, 0, &b, s.ldb,
                               0, &rq, c, s.ldc),
            QGEMM_INVALID_ARGUMENT)
      << s.what;
  int32_t c32[16];
  std::fill(std::begin(c32), std::end(c32), -7);
  EXPECT_EQ(qgemm_u8u8_s32(nullptr, s.m, s.n, s.k, &a, s.lda, 0, &b, s.ldb, 0,
                           nullptr, c32, s.ldc),
            QGEMM_INVALID_ARGUMENT)
      << s.what;
  // Float output, per channel with a 1-entry scale and bias: as for the
  // requant arrays, the shapes are checked before n entries are read.
  float cf[16];
  std::fill(std::begin(cf), std::end(cf), -7.0f);
  const float b_scale = 1.0f, bias = 2.0f;
  qgemm_dequant dq{};
  dq.a_scale = 1.0f;
  dq.b_scale = &b_scale;
  dq.per_channel = 1;
  dq.bias = &bias;
  EXPECT_EQ(qgemm_u8u8_f32(nullptr, s.m, s.n, s.k, &a, s.lda, 0, &b, s.ldb, 0,
                           &dq, cf, s.ldc),
            QGEMM_INVALID_ARGUMENT)
      << s.what;
  for (uint8_t x : c) ASSERT_EQ(x, 0xC3);
  for (int32_t x : c32) ASSERT_EQ(x, -7);
  for (float x : cf) ASSERT_EQ(x, -7.0f);
}

void PrintTo(const SizeCase& s, std::ostream* os) { *os << s.what; }

std::string SizeCaseName(const testing::TestParamInfo<SizeCase>& param) {
  std::string name = param.param.what;
  for (char& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Hostile, BadSizes, testing::ValuesIn(kBadSizes),
                         SizeCaseName);

// Strides that make the last row end past the end of the address space,
// from a pointer near its top (never dereferenced: refused first).
TEST(HostileSizes, LastRowPastTheAddressSpace) {
  const auto* top =
      reinterpret_cast<const uint8_t*>(  // NOLINT(performance-no-int-to-ptr)
          std::numeric_limits<uintptr_t>::max() - 100);
  const uint8_t b[4] = {1, 2, 3, 4};
  int32_t c[4] = {};
  EXPECT_EQ(
      qgemm_u8u8_s32(nullptr, 2, 1, 1, top, 200, 0, b, 1, 0, nullptr, c, 1),
      QGEMM_INVALID_ARGUMENT);
  EXPECT_EQ(
      qgemm_u8u8_s32(nullptr, 1, 1, 102, top, 102, 0, b, 1, 0, nullptr, c, 1),
      QGEMM_INVALID_ARGUMENT);
  const uint8_t a[4] = {1, 2, 3, 4};
  EXPECT_EQ(
      qgemm_u8u8_s32(
          nullptr, 1, 1, 1, a, 1, 0, top, 1, 0, nullptr,
          reinterpret_cast<int32_t*>(  // NOLINT(performance-no-int-to-ptr)
              std::numeric_limits<uintptr_t>::max() - 2),
          1),
      QGEMM_INVALID_ARGUMENT);
  EXPECT_EQ(c[0], 0);
}

TEST(HostileSizes, PackedSizesOverflow) {
  const uint8_t b = 0;
  qgemm_packed_b* p = reinterpret_cast<qgemm_packed_b*>(1);
  // B has no bytes (one dimension is 0), but the packed form's size
  // overflows size_t.
  EXPECT_EQ(qgemm_pack_b(nullptr, kMax, 0, nullptr, 0, QGEMM_LAYOUT_KN, 0, &p),
            QGEMM_INVALID_ARGUMENT);
  EXPECT_EQ(p, nullptr);
  EXPECT_EQ(
      qgemm_pack_b(nullptr, kMax / 4, 0, nullptr, 0, QGEMM_LAYOUT_NK, 0, &p),
      QGEMM_INVALID_ARGUMENT);
  EXPECT_EQ(qgemm_pack_b(nullptr, 0, kMax, nullptr, 0, QGEMM_LAYOUT_NK, 0, &p),
            QGEMM_INVALID_ARGUMENT);
  EXPECT_EQ(qgemm_pack_b(nullptr, 0, kMax / 4 + 1, nullptr, 0, QGEMM_LAYOUT_KN,
                         0, &p),
            QGEMM_INVALID_ARGUMENT);
  // Representable but absurd: 4 PiB of column sums (64-bit targets only: a
  // 32-bit address space has no size both valid and surely unobtainable).
  if (sizeof(size_t) >= 8) {
    EXPECT_EQ(qgemm_pack_b(nullptr, 0, kMax >> 14, nullptr, 0, QGEMM_LAYOUT_NK,
                           0, &p),
              QGEMM_OUT_OF_MEMORY);
    EXPECT_EQ(p, nullptr);
  }
  // k huge, n = 1: B is a valid k x 1 column (stride 1) of PTRDIFF_MAX / 2
  // bytes, but its packed panels (at least 4 columns wide) overflow size_t:
  // refused before B is read.
  EXPECT_EQ(qgemm_pack_b(nullptr, kPtrdiffMax / 2 + 1, 1, &b, 1,
                         QGEMM_LAYOUT_KN, 0, &p),
            QGEMM_INVALID_ARGUMENT);
  EXPECT_EQ(p, nullptr);
}

// k = 0 with NULL operands and any stride is valid: C = bias (s32) or the
// requantized bias, and no pointer into A or B is ever formed.
TEST(HostileSizes, DepthZeroWithNullOperands) {
  const std::vector<int32_t> bias = {5, -3, 1 << 30};
  std::vector<int32_t> c(2 * 3, 99);
  ASSERT_EQ(qgemm_u8u8_s32(nullptr, 2, 3, 0, nullptr, kMax, 7, nullptr, 3, 9,
                           bias.data(), c.data(), 3),
            QGEMM_OK)
      << qgemm_last_error();
  EXPECT_EQ(c, std::vector<int32_t>({5, -3, 1 << 30, 5, -3, 1 << 30}));
  qgemm_packed_b* p = nullptr;
  ASSERT_EQ(qgemm_pack_b(nullptr, 0, 3, nullptr, kMax, QGEMM_LAYOUT_NK, 9, &p),
            QGEMM_OK);
  std::fill(c.begin(), c.end(), 99);
  ASSERT_EQ(qgemm_u8u8_s32_packed(nullptr, 2, nullptr, 0, 7, p, bias.data(),
                                  c.data(), 3),
            QGEMM_OK);
  EXPECT_EQ(c, std::vector<int32_t>({5, -3, 1 << 30, 5, -3, 1 << 30}));
  qgemm_packed_b_destroy(p);
}

// k > 33025 with all-255 data: the true sums exceed INT32_MAX and wrap
// (docs/design.md, "Accumulation"), identically on every table
// and thread count.
class HostileSizesPerTable : public PerTableTest {};

TEST_P(HostileSizesPerTable, DeepSumsWrapIdentically) {
  const TableUnderTest& t = GetParam();
  constexpr size_t kM = 5, kN = 6;
  for (size_t k : {size_t{33026}, size_t{70001}}) {
    for (uint8_t fill : {uint8_t{255}, uint8_t{0}}) {
      const uint8_t z = static_cast<uint8_t>(255 - fill);  // |a - za| = 255
      const std::vector<uint8_t> a(kM * k, fill), b(k * kN, fill);
      const std::vector<int32_t> bias(kN, 1 << 30);
      std::vector<int32_t> want(kM * kN);
      RefGemmS32(kM, kN, k, a.data(), k, z, b.data(), kN, false, z, bias.data(),
                 want.data(), kN);
      const int64_t true_sum =
          int64_t{255} * 255 * static_cast<int64_t>(k) + (1 << 30);
      ASSERT_GT(true_sum, int64_t{std::numeric_limits<int32_t>::max()});
      ASSERT_EQ(want[0], static_cast<int32_t>(static_cast<uint32_t>(true_sum)));
      RefRequantParams ref;
      ref.multiplier = {1 << 30};
      ref.shift = {-20};
      ref.c_zero_point = 128;
      std::vector<uint8_t> want_u8(kM * kN);
      RefGemmRequant(kM, kN, k, a.data(), k, z, b.data(), kN, false, z, ref,
                     want_u8.data(), kN);
      const int32_t mult = 1 << 30, shift = -20;
      qgemm_requant rq{};
      rq.multiplier = &mult;
      rq.shift = &shift;
      rq.c_zero_point = 128;
      rq.c_max = 255;
      for (int threads : {1, 2}) {
        qgemm_context* ctx = nullptr;
        ASSERT_EQ(qgemm_context_create(threads, &ctx), QGEMM_OK);
        ASSERT_EQ(UseTable(ctx, t), "");
        std::vector<int32_t> c(kM * kN);
        ASSERT_EQ(qgemm_u8u8_s32(ctx, kM, kN, k, a.data(), k, z, b.data(), kN,
                                 z, bias.data(), c.data(), kN),
                  QGEMM_OK);
        EXPECT_EQ(c, want) << "k=" << k << " threads=" << threads;
        std::vector<uint8_t> c8(kM * kN);
        ASSERT_EQ(qgemm_u8u8_requant(ctx, kM, kN, k, a.data(), k, z, b.data(),
                                     kN, z, &rq, c8.data(), kN),
                  QGEMM_OK);
        EXPECT_EQ(c8, want_u8) << "k=" << k << " threads=" << threads;
        qgemm_context_destroy(ctx);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllTables, HostileSizesPerTable,
                         testing::ValuesIn(TablesUnderTest()), TableParamName);

TEST(HostileHelpers, QuantizeMultiplier) {
  int32_t m = 123, s = 456;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  for (double bad :
       {nan, -nan, inf, -inf, -1.0, -1e-300, std::ldexp(1.0, 31), 1e300}) {
    EXPECT_EQ(qgemm_quantize_multiplier(bad, &m, &s), QGEMM_INVALID_ARGUMENT)
        << bad;
  }
  EXPECT_EQ(qgemm_quantize_multiplier(0.5, nullptr, &s),
            QGEMM_INVALID_ARGUMENT);
  EXPECT_EQ(qgemm_quantize_multiplier(0.5, &m, nullptr),
            QGEMM_INVALID_ARGUMENT);
  // Zero, negative zero and values too small for shift >= -31: (0, 0).
  for (double tiny : {0.0, -0.0, std::ldexp(1.0, -40),
                      std::numeric_limits<double>::denorm_min()}) {
    ASSERT_EQ(qgemm_quantize_multiplier(tiny, &m, &s), QGEMM_OK) << tiny;
    EXPECT_EQ(m, 0);
    EXPECT_EQ(s, 0);
  }
  // The largest representable: just under 2^30 -> shift 30.
  ASSERT_EQ(qgemm_quantize_multiplier(std::ldexp(0.75, 30), &m, &s), QGEMM_OK);
  EXPECT_EQ(m, 3 << 29);
  EXPECT_EQ(s, 30);
  // Rounds up to 2^31: renormalized.
  ASSERT_EQ(qgemm_quantize_multiplier(std::nextafter(1.0, 0.0), &m, &s),
            QGEMM_OK);
  EXPECT_EQ(m, 1 << 30);
  EXPECT_EQ(s, 1);
}

TEST(HostileHelpers, ChooseQuantParams) {
  float scale = 0;
  uint8_t zp = 0;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const float pairs[][2] = {{nan, 1},    {0, nan}, {-inf, 1}, {0, inf},
                            {-inf, inf}, {1, -1},  {nan, nan}};
  for (const auto& p : pairs) {
    EXPECT_EQ(qgemm_choose_quant_params(p[0], p[1], &scale, &zp),
              QGEMM_INVALID_ARGUMENT)
        << p[0] << " " << p[1];
  }
  EXPECT_EQ(qgemm_choose_quant_params(0, 1, nullptr, &zp),
            QGEMM_INVALID_ARGUMENT);
  EXPECT_EQ(qgemm_choose_quant_params(0, 1, &scale, nullptr),
            QGEMM_INVALID_ARGUMENT);
  ASSERT_EQ(qgemm_choose_quant_params(0, 0, &scale, &zp), QGEMM_OK);
  EXPECT_EQ(scale, 1.0f);
  EXPECT_EQ(zp, 0);
  // The widest finite range: no overflow, zero in the middle.
  const float big = std::numeric_limits<float>::max();
  ASSERT_EQ(qgemm_choose_quant_params(-big, big, &scale, &zp), QGEMM_OK);
  EXPECT_TRUE(std::isfinite(scale) && scale > 0);
  EXPECT_EQ(zp, 128);
  // Negative-only range: zero point at the top.
  ASSERT_EQ(qgemm_choose_quant_params(-5, -1, &scale, &zp), QGEMM_OK);
  EXPECT_EQ(zp, 255);
  // A range so narrow that the scale underflows to 0 in float.
  EXPECT_EQ(qgemm_choose_quant_params(
                0, std::numeric_limits<float>::denorm_min(), &scale, &zp),
            QGEMM_INVALID_ARGUMENT);
}

}  // namespace
}  // namespace qgemm_test

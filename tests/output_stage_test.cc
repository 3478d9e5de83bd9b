// The output stage of every table at its rounding boundaries. With k = 1 and
// A equal to its zero point, every accumulator is bias[j], so per-channel
// parameters put one chosen (x, M0, shift) into each column: values where
// SRDHM and the rounding right shift tie or turn, where the product crosses
// -2^30 (the sign of the SRDHM result flips there), and where the left
// shift saturates. The SIMD stages fold SRDHM and the rounding shift into
// one rounding (kernels/avx512vnni/gemm_8x32.inl); this checks that fold,
// and every other table's, against the two-step reference on exactly the
// inputs where a wrong fold would differ.
#include <gtest/gtest.h>
#include <qgemm/qgemm.h>

#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "tests/reference.h"
#include "tests/tables_under_test.h"

namespace qgemm_test {
namespace {

struct Column {
  int32_t x, multiplier, shift;
};

// The SRDHM result of x and M0, exactly (docs/design.md).
int64_t Srdhm(int64_t x, int64_t m0) {
  const int64_t p = x * m0;
  return p >= 0 ? (p + (int64_t{1} << 30)) >> 31
                : -((-p + (int64_t{1} << 30) - 1) >> 31);
}

// Columns whose x makes SRDHM(x, M0) equal target, if an int32 x near
// target / (M0 / 2^31) does (the map x -> SRDHM is monotone).
void AddTarget(int64_t target, int32_t m0, int32_t shift,
               std::vector<Column>* out) {
  if (m0 == 0) return;
  const double ratio = static_cast<double>(m0) / 2147483648.0;
  const auto guess = static_cast<int64_t>(static_cast<double>(target) / ratio);
  for (int64_t x = guess - 3; x <= guess + 3; ++x) {
    if (x < std::numeric_limits<int32_t>::min() ||
        x > std::numeric_limits<int32_t>::max()) {
      continue;
    }
    if (Srdhm(x, m0) == target) {
      out->push_back({static_cast<int32_t>(x), m0, shift});
    }
  }
}

std::vector<Column> BoundaryColumns() {
  std::vector<Column> cols;
  const int32_t kMax = std::numeric_limits<int32_t>::max();
  const int32_t kMin = std::numeric_limits<int32_t>::min();
  // Right shifts e = 1..31: SRDHM results at the ties t 2^e + 2^(e-1) and
  // one either side, for small t of both signs (the result t or t + 1 then
  // lands inside [0, 255] after the zero point 128, so a wrong rounding
  // shows in the byte).
  for (int e = 1; e <= 31; ++e) {
    for (int64_t t = -3; t <= 2; ++t) {
      for (int64_t d = -1; d <= 1; ++d) {
        const int64_t r = t * (int64_t{1} << e) + (int64_t{1} << (e - 1)) + d;
        if (r < kMin || r > kMax) continue;
        for (int32_t m0 : {kMax, 1 << 30, (1 << 30) + 1, 1518500250}) {
          AddTarget(r, m0, -e, &cols);
        }
      }
    }
  }
  // The product around -2^30, where SRDHM's result turns from 0 to -1, for
  // every right shift (and e = 0).
  for (int e = 0; e <= 31; ++e) {
    for (int32_t m0 : {1, 2, 3, 1 << 30}) {
      const int64_t edge = -(int64_t{1} << 30) / m0;
      for (int64_t x = edge - 2; x <= edge + 2; ++x) {
        cols.push_back({static_cast<int32_t>(x), m0, -e});
      }
    }
  }
  // Left shifts 1..30: x * 2^s at the edge of int32, then SRDHM by M0 near
  // 2^30 (a halving, so the saturated values stay distinguishable).
  for (int s = 1; s <= 30; ++s) {
    const int64_t edge = int64_t{1} << (31 - s);
    for (int64_t x : {edge - 1, edge, -edge - 1, -edge, -edge + 1}) {
      for (int32_t m0 : {1 << 30, kMax, 1}) {
        cols.push_back({static_cast<int32_t>(x), m0, s});
      }
    }
  }
  // Extremes of everything.
  for (int32_t x : {kMin, kMin + 1, -1, 0, 1, kMax - 1, kMax}) {
    for (int32_t m0 : {0, 1, 1 << 30, kMax}) {
      for (int32_t shift : {-31, -30, -1, 0, 1, 30}) {
        cols.push_back({x, m0, shift});
      }
    }
  }
  // And random ones, in the small results' range and anywhere.
  std::mt19937 rng(20261203);
  std::uniform_int_distribution<int32_t> any_x(kMin, kMax);
  std::uniform_int_distribution<int32_t> any_m0(0, kMax);
  std::uniform_int_distribution<int32_t> any_shift(-31, 30);
  for (int i = 0; i < 4096; ++i) {
    cols.push_back({any_x(rng), any_m0(rng), any_shift(rng)});
  }
  return cols;
}

class OutputStagePerTable : public PerTableTest {};

TEST_P(OutputStagePerTable, RoundingBoundariesMatchReference) {
  const TableUnderTest& t = GetParam();
  const std::vector<Column> cols = BoundaryColumns();
  const size_t n = cols.size();
  ASSERT_GT(n, size_t{8000});
  std::vector<int32_t> bias(n), multiplier(n), shift(n);
  for (size_t j = 0; j < n; ++j) {
    bias[j] = cols[j].x;
    multiplier[j] = cols[j].multiplier;
    shift[j] = cols[j].shift;
  }
  constexpr uint8_t kZa = 77, kZc = 128;
  std::vector<uint8_t> b(n);
  for (size_t j = 0; j < n; ++j) b[j] = static_cast<uint8_t>(j * 37);
  qgemm_requant rq{};
  rq.bias = bias.data();
  rq.multiplier = multiplier.data();
  rq.shift = shift.data();
  rq.per_channel = 1;
  rq.c_zero_point = kZc;
  rq.c_max = 255;
  // 9 rows: a full tile of 8 (or of every MR up to 8) and a 1-row edge,
  // which several tables run through their few-rows path.
  for (size_t m : {size_t{9}, size_t{1}}) {
    const std::vector<uint8_t> a(m, kZa);  // a - za = 0: acc = bias
    std::vector<uint8_t> c(m * n, 0);
    qgemm_context* ctx = nullptr;
    ASSERT_EQ(qgemm_context_create(1, &ctx), QGEMM_OK);
    ASSERT_EQ(UseTable(ctx, t), "");
    ASSERT_EQ(qgemm_u8u8_requant(ctx, m, n, 1, a.data(), 1, kZa, b.data(), n, 3,
                                 &rq, c.data(), n),
              QGEMM_OK)
        << qgemm_last_error();
    qgemm_context_destroy(ctx);
    size_t wrong = 0;
    for (size_t i = 0; i < m; ++i) {
      for (size_t j = 0; j < n; ++j) {
        const uint8_t want = RefRequantize(cols[j].x, cols[j].multiplier,
                                           cols[j].shift, kZc, 0, 255);
        const uint8_t got = c[i * n + j];
        if (got != want && ++wrong <= 10) {
          ADD_FAILURE() << t.name << " m=" << m << " row " << i << " x "
                        << cols[j].x << " M0 " << cols[j].multiplier
                        << " shift " << cols[j].shift << ": got " << int{got}
                        << ", want " << int{want};
        }
      }
    }
    EXPECT_EQ(wrong, 0u) << "m=" << m;
  }
}

INSTANTIATE_TEST_SUITE_P(AllTables, OutputStagePerTable,
                         testing::ValuesIn(TablesUnderTest()), TableParamName);

// The boundary columns are what they claim to be: ties of the rounding
// shift are present (the reference rounds them away from zero), so a fold
// that rounded ties differently would be caught.
TEST(OutputStageColumns, HitTiesAndTurns) {
  size_t ties = 0, negative_ties = 0;
  for (const Column& c : BoundaryColumns()) {
    if (c.shift >= 0) continue;
    const int e = -c.shift;
    const int64_t r = Srdhm(c.x, c.multiplier);
    const int64_t rem = r & ((int64_t{1} << e) - 1);
    if (rem == (int64_t{1} << (e - 1))) {
      ++ties;
      if (r < 0) ++negative_ties;
    }
    EXPECT_EQ(RefSaturatingRoundingDoublingHighMul(c.x, c.multiplier),
              static_cast<int32_t>(r))
        << c.x << " " << c.multiplier;
  }
  EXPECT_GE(ties, 31u * 3u);
  EXPECT_GE(negative_ties, 31u);
}

}  // namespace
}  // namespace qgemm_test

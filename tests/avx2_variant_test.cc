// The AVX2 table's pack-time variant choice (kernels/avx2/pack.cc): the
// narrow u8 x s8 kernel (variant 1) must be chosen exactly when every depth
// pair (kk, kk+1), kk even, of every column has |b0-128| + |b1-128| <= 128,
// in both layouts. Correctness of both kernels on this data is the kernel
// test's job (the same MakeB generator feeds it); this test proves that the
// data there really lands on both sides of the choice.
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <vector>

#include "gemm_case.h"
#include "src/api_internal.h"

namespace qgemm_test {
namespace {

// The rule, written independently of the kernel: 1 if every pair fits.
uint32_t ExpectedVariant(const std::vector<uint8_t>& b, size_t k, size_t n,
                         bool nk) {
  for (size_t j = 0; j < n; ++j) {
    for (size_t kk = 0; kk + 1 < k; kk += 2) {
      const int b0 = nk ? b[j * k + kk] : b[kk * n + j];
      const int b1 = nk ? b[j * k + kk + 1] : b[(kk + 1) * n + j];
      if (std::abs(b0 - 128) + std::abs(b1 - 128) > 128) return 0;
    }
  }
  return 1;
}

class Avx2VariantTest : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(qgemm_context_create(1, &ctx_), QGEMM_OK);
    if (qgemm_context_set_isa(ctx_, "avx2") != QGEMM_OK) {
      GTEST_SKIP() << "avx2 not usable here: " << qgemm_last_error();
    }
  }
  void TearDown() override { qgemm_context_destroy(ctx_); }

  uint32_t Pack(const std::vector<uint8_t>& b, size_t k, size_t n, bool nk) {
    qgemm_packed_b* p = nullptr;
    EXPECT_EQ(qgemm_pack_b(ctx_, k, n, b.data(), nk ? k : n,
                           nk ? QGEMM_LAYOUT_NK : QGEMM_LAYOUT_KN, 128, &p),
              QGEMM_OK);
    const uint32_t v = qgemm::PackedBVariant(p);
    qgemm_packed_b_destroy(p);
    return v;
  }

  qgemm_context* ctx_ = nullptr;
};

TEST_F(Avx2VariantTest, GeneratedDataLandsOnBothSides) {
  std::mt19937 rng(7);
  for (bool nk : {false, true}) {
    for (size_t k : {2, 9, 33, 64, 105}) {
      for (size_t n : {1, 16, 17, 40}) {
        SCOPED_TRACE(testing::Message()
                     << "k=" << k << " n=" << n << (nk ? " NK" : " KN"));
        auto b = MakeB(Data::kNarrowB, k, n, nk, rng);
        EXPECT_EQ(ExpectedVariant(b, k, n, nk), 1u);
        EXPECT_EQ(Pack(b, k, n, nk), 1u);
        b = MakeB(Data::kPairLimitB, k, n, nk, rng);
        EXPECT_EQ(ExpectedVariant(b, k, n, nk), 1u);
        EXPECT_EQ(Pack(b, k, n, nk), 1u);
        b = MakeB(Data::kPairEdgeB, k, n, nk, rng);
        EXPECT_EQ(Pack(b, k, n, nk), ExpectedVariant(b, k, n, nk));
        if (k * n >= 64) {
          EXPECT_EQ(Pack(b, k, n, nk), 0u);
        }
        b = MakeB(Data::kRandom, k, n, nk, rng);
        EXPECT_EQ(Pack(b, k, n, nk), ExpectedVariant(b, k, n, nk));
        if (k * n >= 64) {
          EXPECT_EQ(Pack(b, k, n, nk), 0u);
        }
      }
    }
  }
}

// One pair just over the limit, anywhere (first/last column, the columns
// past the last 32-byte vector, first/last pair), turns the narrow kernel
// off; the same pair at exactly the limit does not.
TEST_F(Avx2VariantTest, OnePairDecides) {
  for (bool nk : {false, true}) {
    for (size_t k : {2, 8, 35, 66}) {
      for (size_t n : {1, 33, 70}) {
        for (size_t j : {size_t{0}, n / 2, n - 1}) {
          for (size_t kk : {size_t{0}, (k / 2 - 1) / 2 * 2, k / 2 * 2 - 2}) {
            SCOPED_TRACE(testing::Message()
                         << "k=" << k << " n=" << n << " j=" << j
                         << " kk=" << kk << (nk ? " NK" : " KN"));
            std::vector<uint8_t> b(k * n, 128);
            const auto at = [&](size_t r) -> uint8_t& {
              return b[nk ? j * k + r : r * n + j];
            };
            at(kk) = 0;        // |b - 128| = 128
            at(kk + 1) = 128;  // sum 128: still exact
            EXPECT_EQ(Pack(b, k, n, nk), 1u);
            at(kk + 1) = 129;  // sum 129
            EXPECT_EQ(Pack(b, k, n, nk), 0u);
            at(kk) = 255;  // 127 + 1
            EXPECT_EQ(Pack(b, k, n, nk), 1u);
            at(kk + 1) = 126;  // 127 + 2
            EXPECT_EQ(Pack(b, k, n, nk), 0u);
          }
        }
      }
    }
  }
}

// A lone last entry (K odd) pairs with the zero padding: any value is fine,
// and an entry of the previous pair does not pair with it.
TEST_F(Avx2VariantTest, OddDepthTailPairsWithPadding) {
  for (bool nk : {false, true}) {
    const size_t k = 5, n = 3;
    std::vector<uint8_t> b(k * n, 128);
    const auto at = [&](size_t r, size_t j) -> uint8_t& {
      return b[nk ? j * k + r : r * n + j];
    };
    at(4, 1) = 0;
    at(3, 1) = 255;  // pair (2, 3) sums 127; (3, 4) is not a pair
    EXPECT_EQ(Pack(b, k, n, nk), 1u) << (nk ? "NK" : "KN");
  }
}

}  // namespace
}  // namespace qgemm_test

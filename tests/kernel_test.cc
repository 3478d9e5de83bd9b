// Every kernel table through the same cases: each ISA (native where this
// CPU runs it, emulated where a SIMDe build exists), each entry point,
// 1, 2 and 4 threads (split however small the problem) and the NULL
// context, against the int64 reference.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "dispatch/driver.h"
#include "gemm_case.h"
#include "tables_under_test.h"

namespace qgemm_test {
namespace {

struct KernelParam {
  TableUnderTest table;
  int threads;  // 0: the NULL context (QGEMM_ISA selects the table)
  Call call;
};

void PrintTo(const KernelParam& p, std::ostream* os) {
  *os << p.table.name << " threads=" << p.threads
      << " call=" << static_cast<int>(p.call);
}

std::string ParamName(const testing::TestParamInfo<KernelParam>& info) {
  static const char* const kCalls[] = {"requant", "s32", "packedKN", "packedNK",
                                       "packedS32"};
  const KernelParam& p = info.param;
  return p.table.name + "_" +
         (p.threads == 0 ? std::string("nullctx")
                         : std::to_string(p.threads) + "threads") +
         "_" + kCalls[static_cast<int>(p.call)];
}

std::vector<KernelParam> AllParams() {
  std::vector<KernelParam> out;
  for (const TableUnderTest& t : TablesUnderTest()) {
    for (int threads : {1, 2, 4, 0}) {
      if (threads == 0 && t.emulated) continue;  // not reachable via QGEMM_ISA
      for (Call call : {Call::kRequant, Call::kS32, Call::kPackedKN,
                        Call::kPackedNK, Call::kPackedS32}) {
        out.push_back({t, threads, call});
      }
    }
  }
  return out;
}

class KernelTest : public testing::TestWithParam<KernelParam> {};

TEST_P(KernelTest, MatchesReferenceOnAdversarialCases) {
  const KernelParam& p = GetParam();
  const std::string why = WhyNotRunnable(p.table);
  if (!why.empty()) GTEST_SKIP() << p.table.name << " cannot run here: " << why;
  qgemm_context* ctx = nullptr;
  if (p.threads > 0) {
    ASSERT_EQ(qgemm_context_create(p.threads, &ctx), QGEMM_OK);
    ASSERT_EQ(UseTable(ctx, p.table), "");
    ASSERT_EQ(qgemm_context_num_threads(ctx), p.threads);
  } else {
    ASSERT_EQ(setenv("QGEMM_ISA", p.table.isa.c_str(), 1), 0);
    ASSERT_STREQ(qgemm_context_isa(nullptr), p.table.isa.c_str());
  }
  const qgemm::KernelTable& t = *p.table.table;
  // Small cases too run split over every thread (the cost model would keep
  // most of them on the calling thread), so that every split path is
  // checked byte for byte.
  qgemm::SplitEveryCallForTesting(p.threads > 1);
  int failures = 0;
  for (const GemmCase& gc : AdversarialCases(t.mr, t.nr, t.kr)) {
    const std::string err = RunCase(ctx, gc, p.call);
    EXPECT_EQ(err, "") << gc.Name();
    if (!err.empty() && ++failures >= 5) break;
  }
  qgemm::SplitEveryCallForTesting(false);
  if (p.threads == 0) unsetenv("QGEMM_ISA");
  qgemm_context_destroy(ctx);
}

INSTANTIATE_TEST_SUITE_P(AllTables, KernelTest, testing::ValuesIn(AllParams()),
                         ParamName);

// The dot-rows kernel (unpacked GEMV) of each table that has one, called
// directly against a plain loop: row counts 1..4, odd and even depths, and
// widths around its 32-column step. B is allocated to its last byte, so
// the sanitizer builds catch any read past it.
class DotRowsTest : public testing::TestWithParam<TableUnderTest> {};

TEST_P(DotRowsTest, MatchesPlainSums) {
  const TableUnderTest& t = GetParam();
  const std::string why = WhyNotRunnable(t);
  if (!why.empty()) GTEST_SKIP() << t.name << " cannot run here: " << why;
  if (t.table->dot_rows_kn == nullptr) {
    GTEST_SKIP() << t.name << " has no dot-rows kernel (it packs B)";
  }
  std::mt19937 rng(7);
  for (size_t m = 1; m <= qgemm::kMaxDotRows; ++m) {
    for (size_t k : {1, 2, 3, 8, 65, 130}) {
      for (size_t n : {1, 5, 31, 32, 33, 64, 95, 100}) {
        const size_t lda = k + m % 3, ldb = n + k % 5;
        const uint8_t za = static_cast<uint8_t>(k % 3 == 0 ? 255 : rng());
        std::vector<uint8_t> a(m * lda), b((k - 1) * ldb + n);
        for (auto& v : a) v = static_cast<uint8_t>(rng());
        for (auto& v : b) v = static_cast<uint8_t>(rng());
        const size_t ldo = (n + 31) / 32 * 32;
        std::vector<int32_t> out(m * ldo, 0x5A5A5A5A);
        t.table->dot_rows_kn(m, k, n, a.data(), lda, za, b.data(), ldb,
                             out.data(), ldo);
        for (size_t i = 0; i < m; ++i) {
          for (size_t j = 0; j < n; ++j) {
            uint32_t want = 0;
            for (size_t kk = 0; kk < k; ++kk) {
              want += (static_cast<uint32_t>(a[i * lda + kk]) - za) *
                      b[kk * ldb + j];
            }
            ASSERT_EQ(out[i * ldo + j], static_cast<int32_t>(want))
                << t.name << " m=" << m << " k=" << k << " n=" << n
                << " i=" << i << " j=" << j;
          }
        }
      }
    }
  }
}

std::string TableName(const testing::TestParamInfo<TableUnderTest>& param) {
  return param.param.name;
}

INSTANTIATE_TEST_SUITE_P(AllTables, DotRowsTest,
                         testing::ValuesIn(TablesUnderTest()), TableName);

}  // namespace
}  // namespace qgemm_test

// Every kernel table through the same cases: each ISA (native where this
// CPU runs it, emulated where a SIMDe build exists), each entry point,
// 1, 2 and 4 threads and the NULL context, against the int64 reference.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

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
  int failures = 0;
  for (const GemmCase& gc : AdversarialCases(t.mr, t.nr, t.kr)) {
    const std::string err = RunCase(ctx, gc, p.call);
    EXPECT_EQ(err, "") << gc.Name();
    if (!err.empty() && ++failures >= 5) break;
  }
  if (p.threads == 0) unsetenv("QGEMM_ISA");
  qgemm_context_destroy(ctx);
}

INSTANTIATE_TEST_SUITE_P(AllTables, KernelTest, testing::ValuesIn(AllParams()),
                         ParamName);

}  // namespace
}  // namespace qgemm_test

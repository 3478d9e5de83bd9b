// Every kernel table through the same cases: each ISA (native where this
// CPU runs it, emulated where a SIMDe build exists), each entry point,
// 1, 2 and 4 threads (split however small the problem) and the NULL
// context, against the int64 reference.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "dispatch/driver.h"
#include "gemm_case.h"
#include "reference.h"
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
  static const char* const kCalls[] = {"requant",  "s32",       "packedKN",
                                       "packedNK", "packedS32", "f32",
                                       "packedF32"};
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
      for (Call call :
           {Call::kRequant, Call::kS32, Call::kPackedKN, Call::kPackedNK,
            Call::kPackedS32, Call::kF32, Call::kPackedF32}) {
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
// directly with the arguments the driver builds (kernel_table.h), against
// the reference, for uint8, int32 and float C: row counts 1..4, odd and even
// depths, widths around its column step and the 16-column output tiles,
// per-column parameters with left shifts. B, the column arrays and the
// scratch are allocated to their last element (the sanitizer builds catch
// any access past them; column entries past n hold junk the kernel must
// not let into C), and C rows are padded with sentinels that must survive.
class DotRowsTest : public PerTableTest {};

TEST_P(DotRowsTest, MatchesReference) {
  const TableUnderTest& t = GetParam();
  if (t.table->dot_rows_kn == nullptr) {
    GTEST_SKIP() << t.name << " has no dot-rows kernel (it packs B)";
  }
  const size_t nr = t.table->dot_rows_nr;
  ASSERT_GT(nr, 0u) << t.name;
  std::mt19937 rng(7);
  const auto random_in = [&rng](int32_t lo, int32_t hi) {
    return std::uniform_int_distribution<int32_t>(lo, hi)(rng);
  };
  constexpr int32_t kJunk = 0x5A5A5A5A;
  constexpr uint8_t kSentinel = 0xA5;
  for (size_t m = 1; m <= qgemm::kMaxDotRows; ++m) {
    for (size_t k : {1, 2, 3, 8, 65, 130}) {
      for (size_t n : {1, 5, 15, 16, 17, 31, 32, 33, 64, 95, 100}) {
        for (qgemm::OutputKind kind :
             {qgemm::OutputKind::kUint8, qgemm::OutputKind::kInt32,
              qgemm::OutputKind::kFloat}) {
          const bool u8 = kind == qgemm::OutputKind::kUint8;
          const bool f32 = kind == qgemm::OutputKind::kFloat;
          const size_t lda = k + m % 3, ldb = n + k % 5, ldc = n + 3;
          const size_t n_round = (n + nr - 1) / nr * nr;
          const auto za = static_cast<uint8_t>(k % 3 == 0 ? 255 : rng());
          const auto zb = static_cast<uint8_t>(rng());
          std::vector<uint8_t> a(m * lda), b((k - 1) * ldb + n);
          for (auto& v : a) v = static_cast<uint8_t>(rng());
          for (auto& v : b) v = static_cast<uint8_t>(rng());

          std::vector<int32_t> bias(n_round, kJunk), mult(n_round, kJunk),
              left(n_round, kJunk), right(n_round, kJunk), shift(n);
          // Float output: no int32 bias in the columns (it is the fma's).
          std::vector<int32_t> no_bias(n_round, 0);
          std::vector<float> scale(n_round, -1e30f), bias_f(n_round, 7e30f);
          RefDequantParams dq;
          dq.a_scale = 0.0625f;
          dq.per_channel = true;
          dq.b_scale.resize(n);
          dq.bias.resize(n);
          for (size_t j = 0; j < n; ++j) {
            bias[j] = random_in(-(1 << 20), 1 << 20);
            mult[j] = random_in(1 << 30, INT32_MAX);
            shift[j] = random_in(-20, 3);
            left[j] = std::max(shift[j], 0);
            right[j] = std::max(-shift[j], 0);
            dq.b_scale[j] =
                std::uniform_real_distribution<float>(1e-4f, 1.0f)(rng);
            dq.bias[j] =
                j % 5 == 0 ? -0.0f
                           : std::uniform_real_distribution<float>(-9, 9)(rng);
            scale[j] = dq.a_scale * dq.b_scale[j];
            bias_f[j] = dq.bias[j];
          }
          for (size_t j = n; j < n_round; ++j) no_bias[j] = kJunk;
          qgemm::OutputClamp clamp;
          clamp.c_zero_point = random_in(0, 255);
          clamp.c_min = random_in(0, 100);
          clamp.c_max = random_in(155, 255);

          std::vector<int32_t> row_offset(m);
          for (size_t i = 0; i < m; ++i) {
            uint32_t sum = 0;
            for (size_t kk = 0; kk < k; ++kk) {
              sum += static_cast<uint32_t>(a[i * lda + kk]) - za;
            }
            row_offset[i] = static_cast<int32_t>(0u - sum * zb);
          }
          std::vector<int32_t> scratch((m + 1) * n_round, kJunk);
          const size_t elem = u8 ? 1 : 4;
          std::vector<uint8_t> c(m * ldc * elem, kSentinel);

          qgemm::DotRowsArgs args;
          args.m = m;
          args.k = k;
          args.n = n;
          args.a = a.data();
          args.lda = lda;
          args.za = za;
          args.b = b.data();
          args.ldb = ldb;
          args.row_offset = row_offset.data();
          args.cols = {f32 ? no_bias.data() : bias.data(),
                       mult.data(),
                       left.data(),
                       right.data(),
                       scale.data(),
                       bias_f.data()};
          args.output = kind;
          args.clamp = u8 ? &clamp : nullptr;
          args.c = c.data();
          args.ldc = ldc;
          args.scratch = scratch.data();
          t.table->dot_rows_kn(&args);

          std::vector<int32_t> acc(m * n);
          RefGemmS32(m, n, k, a.data(), lda, za, b.data(), ldb, false, zb,
                     bias.data(), acc.data(), n);
          std::vector<float> want_f(m * n);
          RefGemmF32(m, n, k, a.data(), lda, za, b.data(), ldb, false, zb, dq,
                     want_f.data(), n);
          const std::string where = t.name + " m=" + std::to_string(m) +
                                    " k=" + std::to_string(k) +
                                    " n=" + std::to_string(n) +
                                    (u8    ? " uint8"
                                     : f32 ? " float"
                                           : " int32");
          for (size_t i = 0; i < m; ++i) {
            for (size_t j = 0; j < n; ++j) {
              const int32_t want = acc[i * n + j];
              if (u8) {
                ASSERT_EQ(
                    c[i * ldc + j],
                    RefRequantize(want, mult[j], shift[j], clamp.c_zero_point,
                                  static_cast<uint8_t>(clamp.c_min),
                                  static_cast<uint8_t>(clamp.c_max)))
                    << where << " i=" << i << " j=" << j << " acc=" << want;
              } else if (f32) {
                float got;
                std::memcpy(&got, &c[(i * ldc + j) * elem], sizeof(got));
                ASSERT_TRUE(SameFloat(got, want_f[i * n + j]))
                    << where << " i=" << i << " j=" << j << " got " << got
                    << " want " << want_f[i * n + j];
              } else {
                int32_t got;
                std::memcpy(&got, &c[(i * ldc + j) * elem], sizeof(got));
                ASSERT_EQ(got, want) << where << " i=" << i << " j=" << j;
              }
            }
            for (size_t byte = n * elem; byte < ldc * elem; ++byte) {
              ASSERT_EQ(c[i * ldc * elem + byte], kSentinel)
                  << where << " wrote past column n in row " << i;
            }
          }
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllTables, DotRowsTest,
                         testing::ValuesIn(TablesUnderTest()), TableParamName);

}  // namespace
}  // namespace qgemm_test

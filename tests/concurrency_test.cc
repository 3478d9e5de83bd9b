// The concurrency contract of qgemm.h, under ThreadSanitizer in CI:
//  - a packed B is immutable and shared by any number of threads and
//    contexts at once (the stress test: 8 caller threads x 1000 calls);
//  - a context serves one caller at a time; a second caller entering it
//    gets QGEMM_INVALID_ARGUMENT with C untouched, never corruption.
#include <gtest/gtest.h>
#include <qgemm/qgemm.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "dispatch/context.h"
#include "tests/reference.h"
#include "tests/tables_under_test.h"

namespace qgemm_test {
namespace {

// Calls per caller thread. CI runs the full 1000; QGEMM_STRESS_CALLS can
// lower it for a quick local run.
int StressCalls() {
  const char* env = std::getenv("QGEMM_STRESS_CALLS");
  const long calls = env != nullptr ? std::strtol(env, nullptr, 10) : 0;
  return calls > 0 && calls < 1000000 ? static_cast<int>(calls) : 1000;
}

std::vector<uint8_t> RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& x : v) x = static_cast<uint8_t>(rng());
  return v;
}

// A shared weight matrix (NK layout, as a linear layer's) and per-thread
// activations whose expected outputs are computed up front.
struct Problem {
  static constexpr size_t kK = 37, kN = 19, kMaxM = 7;
  std::vector<uint8_t> b = RandomBytes(kN * kK, 7);
  uint8_t zb = 131;
  int32_t multiplier = 1518500250, shift = -7;  // ~0.707 * 2^-7
  std::vector<int32_t> bias = std::vector<int32_t>(kN, -333);
  RefRequantParams Ref() const {
    RefRequantParams p;
    p.bias = bias;
    p.multiplier = {multiplier};
    p.shift = {shift};
    p.c_zero_point = 120;
    return p;
  }
  qgemm_requant Rq() const {
    qgemm_requant rq{};
    rq.bias = bias.data();
    rq.multiplier = &multiplier;
    rq.shift = &shift;
    rq.c_zero_point = 120;
    rq.c_min = 0;
    rq.c_max = 255;
    return rq;
  }
};

struct Job {
  size_t m;
  uint8_t za;
  std::vector<uint8_t> a;
  std::vector<uint8_t> want_u8;
  std::vector<int32_t> want_s32;
};

std::vector<Job> MakeJobs(const Problem& p, uint32_t seed) {
  std::vector<Job> jobs;
  for (size_t m = 1; m <= Problem::kMaxM; m += 3) {
    Job j;
    j.m = m;
    j.za = static_cast<uint8_t>(seed * 37 + m);
    j.a = RandomBytes(m * Problem::kK, seed * 100 + static_cast<uint32_t>(m));
    j.want_u8.resize(m * Problem::kN);
    j.want_s32.resize(m * Problem::kN);
    RefGemmRequant(m, Problem::kN, Problem::kK, j.a.data(), Problem::kK, j.za,
                   p.b.data(), Problem::kK, true, p.zb, p.Ref(),
                   j.want_u8.data(), Problem::kN);
    RefGemmS32(m, Problem::kN, Problem::kK, j.a.data(), Problem::kK, j.za,
               p.b.data(), Problem::kK, true, p.zb, p.bias.data(),
               j.want_s32.data(), Problem::kN);
    jobs.push_back(std::move(j));
  }
  return jobs;
}

// Runs `callers` threads, each with its own context (odd ones with 2
// threads), `calls` calls each on one shared packed B. Returns the number
// of wrong results or failed calls.
int SharedPackedBStress(const TableUnderTest* table, int callers, int calls) {
  const Problem p;
  qgemm_context* pack_ctx = nullptr;
  if (qgemm_context_create(1, &pack_ctx) != QGEMM_OK) return -1;
  if (table != nullptr && !UseTable(pack_ctx, *table).empty()) return -1;
  qgemm_packed_b* packed = nullptr;
  if (qgemm_pack_b(pack_ctx, Problem::kK, Problem::kN, p.b.data(), Problem::kK,
                   QGEMM_LAYOUT_NK, p.zb, &packed) != QGEMM_OK) {
    return -1;
  }
  qgemm_context_destroy(pack_ctx);  // the packed B outlives its context

  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(callers));
  for (int t = 0; t < callers; ++t) {
    threads.emplace_back([&, t] {
      qgemm_context* ctx = nullptr;
      if (qgemm_context_create(1 + t % 2, &ctx) != QGEMM_OK ||
          (table != nullptr && !UseTable(ctx, *table).empty())) {
        errors.fetch_add(1);
        return;
      }
      const std::vector<Job> jobs = MakeJobs(p, static_cast<uint32_t>(t));
      const qgemm_requant rq = p.Rq();
      std::vector<uint8_t> c_u8(Problem::kMaxM * Problem::kN);
      std::vector<int32_t> c_s32(Problem::kMaxM * Problem::kN);
      for (int i = 0; i < calls; ++i) {
        const Job& j = jobs[static_cast<size_t>(i) % jobs.size()];
        if (i % 4 == 3) {
          if (qgemm_u8u8_s32_packed(ctx, j.m, j.a.data(), Problem::kK, j.za,
                                    packed, p.bias.data(), c_s32.data(),
                                    Problem::kN) != QGEMM_OK ||
              !std::equal(j.want_s32.begin(), j.want_s32.end(),
                          c_s32.begin())) {
            errors.fetch_add(1);
          }
        } else if (qgemm_u8u8_requant_packed(ctx, j.m, j.a.data(), Problem::kK,
                                             j.za, packed, &rq, c_u8.data(),
                                             Problem::kN) != QGEMM_OK ||
                   !std::equal(j.want_u8.begin(), j.want_u8.end(),
                               c_u8.begin())) {
          errors.fetch_add(1);
        }
      }
      qgemm_context_destroy(ctx);
    });
  }
  for (std::thread& t : threads) t.join();
  qgemm_packed_b_destroy(packed);
  return errors.load();
}

TEST(Concurrency, EightCallersShareOnePackedB) {
  EXPECT_EQ(SharedPackedBStress(nullptr, 8, StressCalls()), 0);
}

// Every table of this build (emulated ones too), a shorter run each.
class ConcurrencyPerTable : public PerTableTest {};

TEST_P(ConcurrencyPerTable, SharedPackedB) {
  EXPECT_EQ(SharedPackedBStress(&GetParam(), 4, 40), 0);
}

INSTANTIATE_TEST_SUITE_P(AllTables, ConcurrencyPerTable,
                         testing::ValuesIn(TablesUnderTest()), TableParamName);

// Threads that use the NULL context get one of their own each.
TEST(Concurrency, NullContextFromManyThreads) {
  const Problem p;
  // The unpacked call takes B as k x n: transpose the shared n x k B.
  std::vector<uint8_t> b_kn(Problem::kK * Problem::kN);
  for (size_t r = 0; r < Problem::kN; ++r) {
    for (size_t q = 0; q < Problem::kK; ++q) {
      b_kn[q * Problem::kN + r] = p.b[r * Problem::kK + q];
    }
  }
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      const std::vector<Job> jobs = MakeJobs(p, static_cast<uint32_t>(t + 50));
      const qgemm_requant rq = p.Rq();
      std::vector<uint8_t> c(Problem::kMaxM * Problem::kN);
      for (int i = 0; i < 50; ++i) {
        const Job& j = jobs[static_cast<size_t>(i) % jobs.size()];
        if (qgemm_u8u8_requant(nullptr, j.m, Problem::kN, Problem::kK,
                               j.a.data(), Problem::kK, j.za, b_kn.data(),
                               Problem::kN, p.zb, &rq, c.data(),
                               Problem::kN) != QGEMM_OK ||
            !std::equal(j.want_u8.begin(), j.want_u8.end(), c.begin())) {
          errors.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
}

// A context entered while in use is refused, deterministically: the test
// marks it in use the way a running call does.
TEST(Concurrency, ContextInUseIsRefusedWithCUntouched) {
  const Problem p;
  qgemm_context* ctx = nullptr;
  ASSERT_EQ(qgemm_context_create(2, &ctx), QGEMM_OK);
  qgemm_packed_b* packed = nullptr;
  ASSERT_EQ(qgemm_pack_b(ctx, Problem::kK, Problem::kN, p.b.data(), Problem::kK,
                         QGEMM_LAYOUT_NK, p.zb, &packed),
            QGEMM_OK);
  const std::vector<Job> jobs = MakeJobs(p, 3);
  const qgemm_requant rq = p.Rq();
  std::vector<uint8_t> c(Problem::kMaxM * Problem::kN, 0x5A);
  ctx->in_use.store(true);
  EXPECT_EQ(
      qgemm_u8u8_requant_packed(ctx, jobs[0].m, jobs[0].a.data(), Problem::kK,
                                jobs[0].za, packed, &rq, c.data(), Problem::kN),
      QGEMM_INVALID_ARGUMENT);
  EXPECT_EQ(std::string(qgemm_last_error()).find("in use") != std::string::npos,
            true)
      << qgemm_last_error();
  EXPECT_EQ(qgemm_context_set_isa(ctx, "scalar"), QGEMM_INVALID_ARGUMENT);
  qgemm_packed_b* other = nullptr;
  EXPECT_EQ(qgemm_pack_b(ctx, Problem::kK, Problem::kN, p.b.data(), Problem::kK,
                         QGEMM_LAYOUT_NK, p.zb, &other),
            QGEMM_INVALID_ARGUMENT);
  EXPECT_EQ(other, nullptr);
  for (uint8_t x : c) ASSERT_EQ(x, 0x5A);
  ctx->in_use.store(false);
  // Released, it works again, and a refused call did not leave it held.
  EXPECT_EQ(
      qgemm_u8u8_requant_packed(ctx, jobs[0].m, jobs[0].a.data(), Problem::kK,
                                jobs[0].za, packed, &rq, c.data(), Problem::kN),
      QGEMM_OK);
  EXPECT_TRUE(
      std::equal(jobs[0].want_u8.begin(), jobs[0].want_u8.end(), c.begin()));
  qgemm_packed_b_destroy(packed);
  qgemm_context_destroy(ctx);
}

// Two threads racing on one context: each call either runs exactly or is
// refused with its C untouched. Calls are large enough to overlap often.
TEST(Concurrency, RacingCallersOnOneContextAreDetectedOrExact) {
  constexpr size_t kM = 48, kN = 48, kK = 512;
  const std::vector<uint8_t> a = RandomBytes(kM * kK, 11);
  const std::vector<uint8_t> b = RandomBytes(kK * kN, 12);
  std::vector<int32_t> want(kM * kN);
  RefGemmS32(kM, kN, kK, a.data(), kK, 3, b.data(), kN, false, 250, nullptr,
             want.data(), kN);
  qgemm_context* ctx = nullptr;
  ASSERT_EQ(qgemm_context_create(2, &ctx), QGEMM_OK);
  std::atomic<int> ok{0}, refused{0}, wrong{0};
  auto caller = [&] {
    std::vector<int32_t> c(kM * kN);
    for (int i = 0; i < 60; ++i) {
      std::fill(c.begin(), c.end(), 0x7EADBEEF);
      const qgemm_status st =
          qgemm_u8u8_s32(ctx, kM, kN, kK, a.data(), kK, 3, b.data(), kN, 250,
                         nullptr, c.data(), kN);
      if (st == QGEMM_OK && c == want) {
        ok.fetch_add(1);
      } else if (st == QGEMM_INVALID_ARGUMENT &&
                 std::all_of(c.begin(), c.end(),
                             [](int32_t x) { return x == 0x7EADBEEF; })) {
        refused.fetch_add(1);
      } else {
        wrong.fetch_add(1);
      }
    }
  };
  std::thread t1(caller), t2(caller);
  t1.join();
  t2.join();
  qgemm_context_destroy(ctx);
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_GT(ok.load(), 0);
  EXPECT_EQ(ok.load() + refused.load(), 120);
  RecordProperty("refused", refused.load());
}

// Handing a context from one thread to the next (one at a time) is fine.
TEST(Concurrency, ContextHandedBetweenThreads) {
  const Problem p;
  qgemm_context* ctx = nullptr;
  ASSERT_EQ(qgemm_context_create(2, &ctx), QGEMM_OK);
  qgemm_packed_b* packed = nullptr;
  ASSERT_EQ(qgemm_pack_b(ctx, Problem::kK, Problem::kN, p.b.data(), Problem::kK,
                         QGEMM_LAYOUT_NK, p.zb, &packed),
            QGEMM_OK);
  for (int t = 0; t < 4; ++t) {
    std::thread([&, t] {
      const std::vector<Job> jobs = MakeJobs(p, static_cast<uint32_t>(t));
      const qgemm_requant rq = p.Rq();
      std::vector<uint8_t> c(Problem::kMaxM * Problem::kN);
      for (const Job& j : jobs) {
        EXPECT_EQ(
            qgemm_u8u8_requant_packed(ctx, j.m, j.a.data(), Problem::kK, j.za,
                                      packed, &rq, c.data(), Problem::kN),
            QGEMM_OK);
        EXPECT_TRUE(std::equal(j.want_u8.begin(), j.want_u8.end(), c.begin()));
      }
    }).join();
  }
  qgemm_packed_b_destroy(packed);
  qgemm_context_destroy(ctx);
}

}  // namespace
}  // namespace qgemm_test

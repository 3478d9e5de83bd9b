// "No allocation in prepared calls": a second identical call with a
// prepared context and packed B allocates nothing, counted two ways: qgemm's
// own AllocateAligned counter, and every global operator new of the
// process (replaced below). malloc itself is only reached through
// AllocateAligned in the library.
//
// The replaced operator new can also fail on purpose: the few standard
// library allocations qgemm cannot route through AllocateAligned
// (std::thread's state, ISA names in error messages) must turn into a
// status, never into an exception escaping the C API.
#include <gtest/gtest.h>
#include <qgemm/qgemm.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "dispatch/context.h"
#include "dispatch/driver.h"
#include "dispatch/memory.h"

// ThreadSanitizer's runtime defines operator new in the same archive
// member as variants this file does not replace, so under TSan the global
// count is not taken (qgemm's own counter still is).
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define QGEMM_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define QGEMM_TSAN 1
#endif

// Not under ThreadSanitizer: an uninstrumented pthreadpool's hand-offs
// would read as races there.
#if QGEMM_TEST_HAVE_PTHREADPOOL && !defined(QGEMM_TSAN)
#define QGEMM_TEST_USE_PTHREADPOOL 1
#include <pthreadpool.h>
#endif

// GCC sees the malloc/free pairs below through the replaced operators and
// cannot tell they are these operators' own.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace {
std::atomic<uint64_t> g_news{0};
std::atomic<int64_t> g_news_until_failure{
    -1};  // as FailAllocationAfterForTesting
std::atomic<uint64_t> g_injected_new_failures{0};
#ifndef QGEMM_TSAN
constexpr const char* kWhyNewIsNotCounted = nullptr;

bool NewShouldFail() {
  int64_t left = g_news_until_failure.load(std::memory_order_relaxed);
  while (left >= 0) {
    if (g_news_until_failure.compare_exchange_weak(left, left - 1)) {
      if (left != 0) return false;
      g_injected_new_failures.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
  }
  return false;
}
}  // namespace

void* operator new(size_t bytes) {
  g_news.fetch_add(1, std::memory_order_relaxed);
  if (NewShouldFail()) throw std::bad_alloc();
  if (void* p = std::malloc(bytes == 0 ? 1 : bytes)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t bytes) { return operator new(bytes); }
void* operator new(size_t bytes, const std::nothrow_t&) noexcept {
  g_news.fetch_add(1, std::memory_order_relaxed);
  if (NewShouldFail()) return nullptr;
  return std::malloc(bytes == 0 ? 1 : bytes);
}
void* operator new[](size_t bytes, const std::nothrow_t& t) noexcept {
  return operator new(bytes, t);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
#else
constexpr const char* kWhyNewIsNotCounted =
    "under ThreadSanitizer this test cannot replace operator new (the "
    "runtime defines it next to variants not replaced here)";
}  // namespace
#endif

namespace {

// The two counters a "no allocation" test reads; each test runs once per
// counter, and skips, saying why, where its counter does not count.
struct Counter {
  const char* name;
  uint64_t (*count)();
  void (*allocate_once)();      // one allocation the counter must see
  const char* why_not_counted;  // null: it counts in this build
};

void* volatile g_sink;  // keeps the deliberate allocations below real

const Counter kCounters[] = {
    {"qgemm_allocator", [] { return qgemm::AllocationCountForTesting(); },
     [] {
       g_sink = qgemm::AllocateAligned(1);
       qgemm::FreeAligned(g_sink);
     },
     nullptr},
    {"operator_new", [] { return g_news.load(); },
     [] {
       g_sink = ::operator new(1);
       ::operator delete(g_sink);
     },
     kWhyNewIsNotCounted},
};

class NoAllocation : public testing::TestWithParam<Counter> {
 protected:
  void SetUp() override {
    const Counter& c = GetParam();
    if (c.why_not_counted != nullptr) {
      GTEST_SKIP() << c.name << " is not counted: " << c.why_not_counted;
    }
    // A count of zero below means something only if this one is not.
    const uint64_t before = c.count();
    c.allocate_once();
    ASSERT_GT(c.count(), before)
        << c.name << " did not count a deliberate allocation";
  }
  static uint64_t Count() { return GetParam().count(); }
};

void PrintTo(const Counter& c, std::ostream* os) { *os << c.name; }

std::string CounterName(const testing::TestParamInfo<Counter>& info) {
  return info.param.name;
}

TEST_P(NoAllocation, SecondPreparedCallAllocatesNothing) {
  constexpr size_t kM = 33, kN = 40, kK = 100;
  constexpr size_t kGemvM = 4;  // with unpacked B: the dot-rows path
  std::mt19937 rng(3);
  std::vector<uint8_t> a(kM * kK), b(kN * kK);
  for (auto& x : a) x = static_cast<uint8_t>(rng());
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  std::vector<int32_t> mult(kN, 1 << 30), shift(kN, -9), bias(kN, 12);
  qgemm_requant rq{};
  rq.bias = bias.data();
  rq.multiplier = mult.data();
  rq.shift = shift.data();
  rq.per_channel = 1;
  rq.c_zero_point = 100;
  rq.c_max = 255;
  std::vector<uint8_t> c(kM * kN);
  std::vector<int32_t> c32(kM * kN);
  // Float output: the checks read its scales and biases in place.
  std::vector<float> b_scale(kN, 0.01f), bias_f(kN, 0.5f), cf(kM * kN);
  qgemm_dequant dq{};
  dq.a_scale = 0.02f;
  dq.b_scale = b_scale.data();
  dq.per_channel = 1;
  dq.bias = bias_f.data();
  for (int threads : {1, 2, 4}) {
    qgemm_context* ctx = nullptr;
    ASSERT_EQ(qgemm_context_create(threads, &ctx), QGEMM_OK);
    qgemm_packed_b* packed = nullptr;
    ASSERT_EQ(
        qgemm_pack_b(ctx, kK, kN, b.data(), kK, QGEMM_LAYOUT_NK, 3, &packed),
        QGEMM_OK);
    // Prepare: the first calls grow the context's scratch.
    ASSERT_EQ(qgemm_u8u8_requant_packed(ctx, kM, a.data(), kK, 1, packed, &rq,
                                        c.data(), kN),
              QGEMM_OK);
    ASSERT_EQ(qgemm_u8u8_requant(ctx, kM, kN, kK, a.data(), kK, 1, b.data(), kN,
                                 3, &rq, c.data(), kN),
              QGEMM_OK);
    ASSERT_EQ(qgemm_u8u8_requant(ctx, kGemvM, kN, kK, a.data(), kK, 1, b.data(),
                                 kN, 3, &rq, c.data(), kN),
              QGEMM_OK);
    // Unpacked int32 output once too: its 4-byte C lines give the slots
    // other column blocks, whose B scratch may be larger (grown once).
    ASSERT_EQ(qgemm_u8u8_s32(ctx, 1, kN, kK, a.data(), kK, 1, b.data(), kN, 3,
                             bias.data(), c32.data(), kN),
              QGEMM_OK);
    const uint64_t before = Count();
    for (int i = 0; i < 3; ++i) {
      ASSERT_EQ(qgemm_u8u8_requant_packed(ctx, kM, a.data(), kK, 1, packed, &rq,
                                          c.data(), kN),
                QGEMM_OK);
      ASSERT_EQ(qgemm_u8u8_s32_packed(ctx, kM, a.data(), kK, 1, packed,
                                      bias.data(), c32.data(), kN),
                QGEMM_OK);
      // Smaller shapes fit in the grown scratch too.
      ASSERT_EQ(qgemm_u8u8_requant_packed(ctx, kM / 2, a.data(), kK, 1, packed,
                                          &rq, c.data(), kN),
                QGEMM_OK);
      // Unpacked B of the same shape reuses the context's B scratch.
      ASSERT_EQ(qgemm_u8u8_requant(ctx, kM, kN, kK, a.data(), kK, 1, b.data(),
                                   kN, 3, &rq, c.data(), kN),
                QGEMM_OK);
      // Few rows against unpacked B: column parameters and sums come from
      // the same grown scratch.
      ASSERT_EQ(qgemm_u8u8_requant(ctx, kGemvM, kN, kK, a.data(), kK, 1,
                                   b.data(), kN, 3, &rq, c.data(), kN),
                QGEMM_OK);
      ASSERT_EQ(qgemm_u8u8_s32(ctx, 1, kN, kK, a.data(), kK, 1, b.data(), kN, 3,
                               bias.data(), c32.data(), kN),
                QGEMM_OK);
      ASSERT_EQ(qgemm_u8u8_f32_packed(ctx, kM, a.data(), kK, 1, packed, &dq,
                                      cf.data(), kN),
                QGEMM_OK);
      ASSERT_EQ(qgemm_u8u8_f32(ctx, kGemvM, kN, kK, a.data(), kK, 1, b.data(),
                               kN, 3, &dq, cf.data(), kN),
                QGEMM_OK);
    }
    EXPECT_EQ(Count() - before, 0u) << threads << " threads";
    qgemm_packed_b_destroy(packed);
    qgemm_context_destroy(ctx);
  }
}

// The same through a caller's executor, split into slots however small (the
// cost model would keep this shape on the calling thread): the executor
// path (slot ranges, the hand-off) allocates nothing either.
void SerialParallelFor(void* calls, qgemm_task_fn task, void* context,
                       size_t count) {
  ++*static_cast<int*>(calls);
  for (size_t i = 0; i < count; ++i) task(context, i);
}

#if QGEMM_TEST_USE_PTHREADPOOL
void PthreadpoolParallelFor(void* pool, qgemm_task_fn task, void* context,
                            size_t count) {
  pthreadpool_parallelize_1d(static_cast<pthreadpool_t>(pool), task, context,
                             count, 0);
}
#endif

TEST_P(NoAllocation, SecondPreparedCallThroughAnExecutorAllocatesNothing) {
  constexpr size_t kM = 33, kN = 70, kK = 100;
  std::vector<uint8_t> a(kM * kK, 9), b(kN * kK, 201), c(kM * kN);
  int32_t mult = 1 << 30, shift = -12;
  qgemm_requant rq{};
  rq.multiplier = &mult;
  rq.shift = &shift;
  rq.c_max = 255;
  struct Executor {
    const char* name;
    qgemm_parallel_for_fn parallel_for;
    void* context;
  };
  int serial_calls = 0;
  std::vector<Executor> executors = {
      {"serial", SerialParallelFor, &serial_calls}};
#if QGEMM_TEST_USE_PTHREADPOOL
  pthreadpool_t pool = pthreadpool_create(2);
  executors.push_back({"pthreadpool", PthreadpoolParallelFor, pool});
#endif
  qgemm::SplitEveryCallForTesting(true);
  for (const Executor& e : executors) {
    qgemm_context* ctx = nullptr;
    ASSERT_EQ(
        qgemm_context_create_with_executor(e.parallel_for, e.context, 2, &ctx),
        QGEMM_OK);
    qgemm_packed_b* packed = nullptr;
    ASSERT_EQ(
        qgemm_pack_b(ctx, kK, kN, b.data(), kK, QGEMM_LAYOUT_NK, 3, &packed),
        QGEMM_OK);
    const auto calls = [&] {
      ASSERT_EQ(qgemm_u8u8_requant_packed(ctx, kM, a.data(), kK, 1, packed, &rq,
                                          c.data(), kN),
                QGEMM_OK);
      ASSERT_EQ(qgemm_u8u8_requant(ctx, kM, kN, kK, a.data(), kK, 1, b.data(),
                                   kN, 3, &rq, c.data(), kN),
                QGEMM_OK);
    };
    calls();  // prepares the scratch
    const uint64_t before = Count();
    for (int i = 0; i < 3; ++i) calls();
    EXPECT_EQ(Count() - before, 0u) << e.name;
    qgemm_packed_b_destroy(packed);
    qgemm_context_destroy(ctx);
  }
  qgemm::SplitEveryCallForTesting(false);
  EXPECT_GE(serial_calls, 8);  // the calls did go through the executor
#if QGEMM_TEST_USE_PTHREADPOOL
  pthreadpool_destroy(pool);
#endif
}

// The NULL context (the calling thread's own) is prepared by its first
// call just the same: ISA resolution copies no strings.
TEST_P(NoAllocation, SecondNullContextCallAllocatesNothing) {
  constexpr size_t kM = 9, kN = 20, kK = 50;
  std::vector<uint8_t> a(kM * kK, 7), b(kK * kN, 200), c(kM * kN);
  int32_t mult = 1 << 30, shift = -12;
  qgemm_requant rq{};
  rq.multiplier = &mult;
  rq.shift = &shift;
  rq.c_max = 255;
  ASSERT_EQ(qgemm_u8u8_requant(nullptr, kM, kN, kK, a.data(), kK, 1, b.data(),
                               kN, 3, &rq, c.data(), kN),
            QGEMM_OK);
  const uint64_t before = Count();
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(qgemm_u8u8_requant(nullptr, kM, kN, kK, a.data(), kK, 1, b.data(),
                                 kN, 3, &rq, c.data(), kN),
              QGEMM_OK);
  }
  EXPECT_EQ(Count() - before, 0u);
}

// Why the default table (a new context's and the NULL context's) does not
// take an m x k GEMV through its dot-rows kernel, or "" when it does.
std::string WhyNoDotRows(size_t m, size_t k) {
  qgemm_context* ctx = nullptr;
  if (qgemm_context_create(1, &ctx) != QGEMM_OK) return qgemm_last_error();
  std::string why;
  if (!qgemm::UseDotRows(*ctx->table, m, k)) {
    why = std::string("the default table (") + ctx->table->isa +
          ") packs B for a GEMV too (no dot-rows kernel)";
  }
  qgemm_context_destroy(ctx);
  return why;
}

// Unpacked GEMV (at most 4 rows of A, B k x n read in place by the dot-rows
// kernel) on contexts of 1, 2 and 4 threads and the NULL context (0): once
// a call of 4 rows has grown the scratch, calls of 1 to 4 rows allocate
// nothing.
TEST_P(NoAllocation, SecondGemvCallAllocatesNothing) {
  constexpr size_t kMaxM = 4, kN = 40, kK = 100;
  const std::string why = WhyNoDotRows(kMaxM, kK);
  if (!why.empty()) GTEST_SKIP() << why;
  std::mt19937 rng(4);
  std::vector<uint8_t> a(kMaxM * kK), b(kK * kN);
  for (auto& x : a) x = static_cast<uint8_t>(rng());
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  std::vector<int32_t> mult(kN, 1 << 30), shift(kN, -9), bias(kN, -40);
  qgemm_requant rq{};
  rq.bias = bias.data();
  rq.multiplier = mult.data();
  rq.shift = shift.data();
  rq.per_channel = 1;
  rq.c_zero_point = 100;
  rq.c_max = 255;
  std::vector<uint8_t> c(kMaxM * kN);
  std::vector<int32_t> c32(kMaxM * kN);
  for (int threads : {1, 2, 4, 0}) {
    qgemm_context* ctx = nullptr;
    if (threads > 0) {
      ASSERT_EQ(qgemm_context_create(threads, &ctx), QGEMM_OK);
    }
    auto calls = [&](size_t m) {
      return qgemm_u8u8_requant(ctx, m, kN, kK, a.data(), kK, 7, b.data(), kN,
                                250, &rq, c.data(), kN) == QGEMM_OK &&
             qgemm_u8u8_s32(ctx, m, kN, kK, a.data(), kK, 7, b.data(), kN, 250,
                            bias.data(), c32.data(), kN) == QGEMM_OK;
    };
    ASSERT_TRUE(calls(kMaxM)) << qgemm_last_error();
    const uint64_t before = Count();
    for (int i = 0; i < 3; ++i) {
      for (size_t m = 1; m <= kMaxM; ++m) {
        ASSERT_TRUE(calls(m)) << qgemm_last_error();
      }
    }
    EXPECT_EQ(Count() - before, 0u)
        << (threads > 0 ? std::to_string(threads) + " threads"
                        : std::string("NULL context"));
    qgemm_context_destroy(ctx);
  }
}

// The counters see qgemm's own allocations: the tests above could not pass
// because qgemm allocates around them.
TEST_P(NoAllocation, CountersSeeContextCreate) {
  qgemm_context* ctx = nullptr;
  const uint64_t before = Count();
  ASSERT_EQ(qgemm_context_create(2, &ctx), QGEMM_OK);
  // qgemm_allocator: the context; operator_new: std::thread's state.
  EXPECT_GT(Count(), before);
  qgemm_context_destroy(ctx);
}

INSTANTIATE_TEST_SUITE_P(Counters, NoAllocation, testing::ValuesIn(kCounters),
                         CounterName);

// Every operator new inside these entry points fails once in turn: each
// returns a status (or degrades), and nothing throws.
TEST(FailingOperatorNew, EntryPointsNeverThrow) {
  if (kWhyNewIsNotCounted != nullptr) {
    GTEST_SKIP() << "no failure can be injected: " << kWhyNewIsNotCounted;
  }
  const uint8_t a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {6, 5, 4, 3, 2, 1};
  const int32_t mult = 1 << 30, shift = -1;
  qgemm_requant rq{};
  rq.multiplier = &mult;
  rq.shift = &shift;
  rq.c_max = 255;
  uint8_t c[4];
  const uint64_t injected_before = g_injected_new_failures.load();
  uint64_t last_round_start = 0;
  for (int64_t n = 0; n < 200; ++n) {
    last_round_start = g_injected_new_failures.load();
    qgemm_context* ctx = nullptr;
    qgemm_status st = QGEMM_OK;
    g_news_until_failure.store(n);
    EXPECT_NO_THROW(st = qgemm_context_create(3, &ctx)) << n;
    g_news_until_failure.store(-1);
    if (st != QGEMM_OK) {
      EXPECT_EQ(st, QGEMM_OUT_OF_MEMORY);
      continue;
    }
    EXPECT_GE(qgemm_context_num_threads(ctx), 1);
    g_news_until_failure.store(n);
    EXPECT_NO_THROW(st = qgemm_context_set_isa(ctx, "bogus")) << n;
    EXPECT_TRUE(st == QGEMM_INVALID_ARGUMENT || st == QGEMM_OUT_OF_MEMORY);
    EXPECT_NO_THROW(st = qgemm_context_set_isa(ctx, "auto")) << n;
    EXPECT_TRUE(st == QGEMM_OK || st == QGEMM_OUT_OF_MEMORY);
    EXPECT_NO_THROW(
        st = qgemm_u8u8_requant(ctx, 2, 2, 3, a, 3, 0, b, 2, 0, &rq, c, 2))
        << n;
    EXPECT_TRUE(st == QGEMM_OK || st == QGEMM_OUT_OF_MEMORY);
    EXPECT_NO_THROW(
        st = qgemm_u8u8_requant(nullptr, 2, 2, 3, a, 3, 0, b, 2, 0, &rq, c, 2))
        << n;
    EXPECT_TRUE(st == QGEMM_OK || st == QGEMM_OUT_OF_MEMORY);
    const char* names[8];
    EXPECT_NO_THROW(qgemm_supported_isas(names, 8));
    EXPECT_NO_THROW(qgemm_context_isa(nullptr));
    g_news_until_failure.store(-1);
    qgemm_context_destroy(ctx);
  }
  // The failures did happen, and the rounds went past the last operator
  // new of these calls (the last round failed none), so each one failed.
  EXPECT_GT(g_injected_new_failures.load() - injected_before, 0u);
  EXPECT_EQ(g_injected_new_failures.load() - last_round_start, 0u);
}

}  // namespace

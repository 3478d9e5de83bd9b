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
#include <random>
#include <vector>

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
#ifndef QGEMM_TSAN
constexpr bool kCountsNew = true;

bool NewShouldFail() {
  int64_t left = g_news_until_failure.load(std::memory_order_relaxed);
  while (left >= 0) {
    if (g_news_until_failure.compare_exchange_weak(left, left - 1)) {
      return left == 0;
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
constexpr bool kCountsNew = false;
}  // namespace
#endif

namespace {

struct Counts {
  uint64_t qgemm, news;
};
Counts Now() { return {qgemm::AllocationCountForTesting(), g_news.load()}; }

TEST(NoAllocation, SecondPreparedCallAllocatesNothing) {
  constexpr size_t kM = 33, kN = 40, kK = 100;
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
    const Counts before = Now();
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
    }
    const Counts after = Now();
    EXPECT_EQ(after.qgemm - before.qgemm, 0u) << threads << " threads";
    EXPECT_EQ(after.news - before.news, 0u) << threads << " threads";
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

TEST(NoAllocation, SecondPreparedCallThroughAnExecutorAllocatesNothing) {
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
    const Counts before = Now();
    for (int i = 0; i < 3; ++i) calls();
    const Counts after = Now();
    EXPECT_EQ(after.qgemm - before.qgemm, 0u) << e.name;
    EXPECT_EQ(after.news - before.news, 0u) << e.name;
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
TEST(NoAllocation, SecondNullContextCallAllocatesNothing) {
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
  const Counts before = Now();
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(qgemm_u8u8_requant(nullptr, kM, kN, kK, a.data(), kK, 1, b.data(),
                                 kN, 3, &rq, c.data(), kN),
              QGEMM_OK);
  }
  const Counts after = Now();
  EXPECT_EQ(after.qgemm - before.qgemm, 0u);
  EXPECT_EQ(after.news - before.news, 0u);
}

// The counters do count: the test above could not pass by accident.
TEST(NoAllocation, CountersSeeAFirstCall) {
  qgemm_context* ctx = nullptr;
  const Counts before = Now();
  ASSERT_EQ(qgemm_context_create(2, &ctx), QGEMM_OK);
  const Counts after = Now();
  EXPECT_GT(after.qgemm, before.qgemm);
  if (kCountsNew) {
    EXPECT_GT(after.news, before.news);  // std::thread's state
  }
  qgemm_context_destroy(ctx);
}

// Every operator new inside these entry points fails once in turn: each
// returns a status (or degrades), and nothing throws.
TEST(FailingOperatorNew, EntryPointsNeverThrow) {
  if (!kCountsNew) GTEST_SKIP() << "operator new is not replaced under TSan";
  const uint8_t a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {6, 5, 4, 3, 2, 1};
  const int32_t mult = 1 << 30, shift = -1;
  qgemm_requant rq{};
  rq.multiplier = &mult;
  rq.shift = &shift;
  rq.c_max = 255;
  uint8_t c[4];
  for (int64_t n = 0; n < 200; ++n) {
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
}

}  // namespace

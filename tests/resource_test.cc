// Resource faults. Every allocation qgemm makes goes through
// qgemm::AllocateAligned, whose test hook fails the n-th one: each entry
// point is run with n = 0, 1, 2, ... until it succeeds, and every failure
// must be QGEMM_OUT_OF_MEMORY with C untouched and nothing half-made (no
// leak: LeakSanitizer checks the ASan build at exit). Thread starts that
// fail leave a context with fewer threads that still computes exactly;
// destroying a context stops and joins its threads.
#include <dirent.h>
#include <gtest/gtest.h>
#include <qgemm/qgemm.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <limits>
#include <ostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "dispatch/context.h"
#include "dispatch/driver.h"
#include "dispatch/memory.h"
#include "dispatch/thread_pool.h"
#include "tests/reference.h"

namespace qgemm_test {
namespace {

constexpr size_t kM = 13, kN = 11, kK = 29;

struct Data {
  std::vector<uint8_t> a, b;  // A m x k, B k x n
  int32_t multiplier = 1 << 30, shift = -5;
  std::vector<int32_t> bias = std::vector<int32_t>(kN, 77);
  std::vector<uint8_t> want_u8 = std::vector<uint8_t>(kM * kN);
  std::vector<int32_t> want_s32 = std::vector<int32_t>(kM * kN);
  qgemm_requant rq{};

  Data() {
    std::mt19937 rng(5);
    a.resize(kM * kK);
    b.resize(kK * kN);
    for (auto& x : a) x = static_cast<uint8_t>(rng());
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    RefRequantParams ref;
    ref.bias = bias;
    ref.multiplier = {multiplier};
    ref.shift = {shift};
    ref.c_zero_point = 9;
    RefGemmRequant(kM, kN, kK, a.data(), kK, 4, b.data(), kN, false, 200, ref,
                   want_u8.data(), kN);
    RefGemmS32(kM, kN, kK, a.data(), kK, 4, b.data(), kN, false, 200,
               bias.data(), want_s32.data(), kN);
    rq.bias = bias.data();
    rq.multiplier = &multiplier;
    rq.shift = &shift;
    rq.c_zero_point = 9;
    rq.c_max = 255;
  }
};

class AllocationFailure : public testing::Test {
 protected:
  void TearDown() override { qgemm::FailAllocationAfterForTesting(-1); }

  // Runs attempt(n) with the n-th allocation failing, n = 0, 1, ... until
  // it returns QGEMM_OK; every other status must be QGEMM_OUT_OF_MEMORY.
  // Returns how many attempts failed.
  static int FailEachAllocation(const std::function<qgemm_status()>& attempt) {
    for (int64_t n = 0; n < 1000; ++n) {
      qgemm::FailAllocationAfterForTesting(n);
      const qgemm_status st = attempt();
      qgemm::FailAllocationAfterForTesting(-1);
      if (st == QGEMM_OK) return static_cast<int>(n);
      EXPECT_EQ(st, QGEMM_OUT_OF_MEMORY) << "allocation " << n;
      if (st != QGEMM_OUT_OF_MEMORY) return -1;
    }
    ADD_FAILURE() << "never succeeded";
    return -1;
  }
};

TEST_F(AllocationFailure, ContextCreate) {
  for (int threads : {1, 3}) {
    qgemm_context* ctx = nullptr;
    const int failures = FailEachAllocation([&] {
      ctx = reinterpret_cast<qgemm_context*>(
          reinterpret_cast<uintptr_t>(&ctx));  // must become NULL
      const qgemm_status st = qgemm_context_create(threads, &ctx);
      if (st != QGEMM_OK) {
        EXPECT_EQ(ctx, nullptr);
      }
      return st;
    });
    EXPECT_GE(failures, 1) << "context_create allocates nothing?";
    EXPECT_EQ(qgemm_context_num_threads(ctx), threads);
    qgemm_context_destroy(ctx);
  }
}

TEST_F(AllocationFailure, PackB) {
  const Data d;
  qgemm_context* ctx = nullptr;
  ASSERT_EQ(qgemm_context_create(2, &ctx), QGEMM_OK);
  for (qgemm_context* pack_ctx : {ctx, static_cast<qgemm_context*>(nullptr)}) {
    qgemm_packed_b* packed = nullptr;
    const int failures = FailEachAllocation([&] {
      const qgemm_status st = qgemm_pack_b(pack_ctx, kK, kN, d.b.data(), kN,
                                           QGEMM_LAYOUT_KN, 200, &packed);
      if (st != QGEMM_OK) {
        EXPECT_EQ(packed, nullptr);
      }
      return st;
    });
    EXPECT_GE(failures, 3);  // the object, its panels, its column sums
    std::vector<uint8_t> c(kM * kN);
    ASSERT_EQ(qgemm_u8u8_requant_packed(ctx, kM, d.a.data(), kK, 4, packed,
                                        &d.rq, c.data(), kN),
              QGEMM_OK);
    EXPECT_EQ(c, d.want_u8);
    qgemm_packed_b_destroy(packed);
  }
  qgemm_context_destroy(ctx);
}

// The calls that grow a fresh context's scratch: each entry point with kM
// rows, and the unpacked GEMV (m <= 4 rows, B read in place by the table's
// dot-rows kernel) with either output.
struct FreshCall {
  const char* name;
  size_t m;
  enum Kind { kRequant, kS32, kPackedRequant } kind;
  bool gemv;  // must take the dot-rows path (UseDotRows)
};

const FreshCall kFreshCalls[] = {
    {"requant", kM, FreshCall::kRequant, false},
    {"s32", kM, FreshCall::kS32, false},
    {"packed", kM, FreshCall::kPackedRequant, false},
    {"gemv_requant", 3, FreshCall::kRequant, true},
    {"gemv_s32", 1, FreshCall::kS32, true},
};

void PrintTo(const FreshCall& call, std::ostream* os) { *os << call.name; }

std::string FreshCallName(const testing::TestParamInfo<FreshCall>& info) {
  return info.param.name;
}

// C of a call with its first m rows written and the others as filled.
template <typename T>
std::vector<T> FirstRows(const std::vector<T>& want, size_t m, T fill) {
  std::vector<T> c(want.size(), fill);
  std::copy(want.begin(), want.begin() + static_cast<ptrdiff_t>(m * kN),
            c.begin());
  return c;
}

class AllocationFailureOfCall : public AllocationFailure,
                                public testing::WithParamInterface<FreshCall> {
 protected:
  void SetUp() override {
    // A new context gets the default table, as the NULL context does.
    qgemm_context* ctx = nullptr;
    ASSERT_EQ(qgemm_context_create(1, &ctx), QGEMM_OK);
    const qgemm::KernelTable& table = *ctx->table;
    const bool dot_rows = qgemm::UseDotRows(table, GetParam().m, kK);
    qgemm_context_destroy(ctx);
    if (GetParam().gemv && !dot_rows) {
      GTEST_SKIP() << "the default table (" << table.isa
                   << ") packs B for a GEMV too (no dot-rows kernel)";
    }
    ASSERT_EQ(dot_rows, GetParam().gemv) << table.isa;
    ASSERT_EQ(qgemm_pack_b(nullptr, kK, kN, d_.b.data(), kN, QGEMM_LAYOUT_KN,
                           200, &packed_),
              QGEMM_OK);
  }
  void TearDown() override {
    qgemm_packed_b_destroy(packed_);
    AllocationFailure::TearDown();
  }

  // Runs the call on ctx (NULL: the calling thread's) into fresh C buffers
  // filled with kFill; a failed call must leave them so.
  qgemm_status Call(qgemm_context* ctx) {
    const FreshCall& call = GetParam();
    c_u8_.assign(kM * kN, kFillU8);
    c_s32_.assign(kM * kN, kFillS32);
    qgemm_status st = QGEMM_INVALID_ARGUMENT;
    switch (call.kind) {
      case FreshCall::kRequant:
        st = qgemm_u8u8_requant(ctx, call.m, kN, kK, d_.a.data(), kK, 4,
                                d_.b.data(), kN, 200, &d_.rq, c_u8_.data(), kN);
        break;
      case FreshCall::kS32:
        st =
            qgemm_u8u8_s32(ctx, call.m, kN, kK, d_.a.data(), kK, 4, d_.b.data(),
                           kN, 200, d_.bias.data(), c_s32_.data(), kN);
        break;
      case FreshCall::kPackedRequant:
        st = qgemm_u8u8_requant_packed(ctx, call.m, d_.a.data(), kK, 4, packed_,
                                       &d_.rq, c_u8_.data(), kN);
        break;
    }
    if (st != QGEMM_OK) {
      EXPECT_EQ(c_u8_, std::vector<uint8_t>(kM * kN, kFillU8));
      EXPECT_EQ(c_s32_, std::vector<int32_t>(kM * kN, kFillS32));
    }
    return st;
  }

  // After the call succeeded: its C is the reference's.
  void ExpectExactC() const {
    const FreshCall& call = GetParam();
    if (call.kind == FreshCall::kS32) {
      EXPECT_EQ(c_s32_, FirstRows(d_.want_s32, call.m, kFillS32));
    } else {
      EXPECT_EQ(c_u8_, FirstRows(d_.want_u8, call.m, kFillU8));
    }
  }

  static constexpr uint8_t kFillU8 = 0xEE;
  static constexpr int32_t kFillS32 = -5;
  const Data d_;
  qgemm_packed_b* packed_ = nullptr;
  std::vector<uint8_t> c_u8_;
  std::vector<int32_t> c_s32_;
};

// A first call on a fresh context allocates its scratch; each of those
// allocations failing leaves C untouched, and the context usable.
TEST_P(AllocationFailureOfCall, OnFreshContexts) {
  for (int threads : {1, 2}) {
    std::vector<qgemm_context*> contexts;
    const int failures = FailEachAllocation([&] {
      qgemm_context* ctx = nullptr;
      qgemm::FailAllocationAfterForTesting(-1);
      EXPECT_EQ(qgemm_context_create(threads, &ctx), QGEMM_OK);
      contexts.push_back(ctx);
      qgemm::FailAllocationAfterForTesting(
          static_cast<int64_t>(contexts.size()) - 1);
      return Call(ctx);
    });
    EXPECT_GE(failures, 1) << threads << " threads";
    ExpectExactC();
    // Every context that saw a failure still works.
    for (qgemm_context* ctx : contexts) {
      std::vector<uint8_t> c(kM * kN);
      EXPECT_EQ(qgemm_u8u8_requant(ctx, kM, kN, kK, d_.a.data(), kK, 4,
                                   d_.b.data(), kN, 200, &d_.rq, c.data(), kN),
                QGEMM_OK);
      EXPECT_EQ(c, d_.want_u8);
      qgemm_context_destroy(ctx);
    }
  }
}

// The NULL context: each thread makes its own on first use.
TEST_P(AllocationFailureOfCall, OnTheNullContextOfAFreshThread) {
  const int failures = FailEachAllocation([&] {
    qgemm_status st = QGEMM_OK;
    std::thread([&] { st = Call(nullptr); }).join();
    return st;
  });
  EXPECT_GE(failures, 1);
  ExpectExactC();
}

INSTANTIATE_TEST_SUITE_P(Calls, AllocationFailureOfCall,
                         testing::ValuesIn(kFreshCalls), FreshCallName);

size_t ThreadsOfThisProcess() {
  size_t count = 0;
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return 0;
  while (const dirent* e = readdir(dir)) {
    if (e->d_name[0] != '.') ++count;
  }
  closedir(dir);
  return count;
}

class ThreadStartFailure : public testing::Test {
 protected:
  void TearDown() override { qgemm::FailThreadStartAfterForTesting(-1); }
};

// A context whose thread starts fail has the threads that did start; it
// computes exactly with them and its destruction does not hang.
TEST_F(ThreadStartFailure, ContextDegradesToFewerThreads) {
  const Data d;
  for (int started = 0; started <= 3; ++started) {
    qgemm::FailThreadStartAfterForTesting(started);
    qgemm_context* ctx = nullptr;
    ASSERT_EQ(qgemm_context_create(4, &ctx), QGEMM_OK);
    qgemm::FailThreadStartAfterForTesting(-1);
    EXPECT_EQ(qgemm_context_num_threads(ctx), started + 1);
    std::vector<uint8_t> c(kM * kN);
    for (int i = 0; i < 3; ++i) {
      ASSERT_EQ(qgemm_u8u8_requant(ctx, kM, kN, kK, d.a.data(), kK, 4,
                                   d.b.data(), kN, 200, &d.rq, c.data(), kN),
                QGEMM_OK);
      EXPECT_EQ(c, d.want_u8);
    }
    qgemm_context_destroy(ctx);
  }
}

// A hostile thread count is clamped, not obeyed until the system gives out.
TEST(ContextThreads, HugeThreadCountIsClamped) {
  const Data d;
  qgemm_context* ctx = nullptr;
  ASSERT_EQ(qgemm_context_create(std::numeric_limits<int>::max(), &ctx),
            QGEMM_OK);
  EXPECT_GE(qgemm_context_num_threads(ctx), 1);
  EXPECT_LE(qgemm_context_num_threads(ctx), 256);
  std::vector<uint8_t> c(kM * kN);
  ASSERT_EQ(qgemm_u8u8_requant(ctx, kM, kN, kK, d.a.data(), kK, 4, d.b.data(),
                               kN, 200, &d.rq, c.data(), kN),
            QGEMM_OK);
  EXPECT_EQ(c, d.want_u8);
  qgemm_context_destroy(ctx);
}

// The thread count once it has held still for 100 ms: a thread that has
// been joined can stay listed in /proc for a moment (under qemu-user the
// host thread behind it exits after the guest's join returns).
size_t SettledThreadCount() {
  size_t count = ThreadsOfThisProcess();
  for (int still = 0; still < 10;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const size_t now = ThreadsOfThisProcess();
    still = now == count ? still + 1 : 0;
    count = now;
  }
  return count;
}

// Polls until the thread count is `want` or 10 s have passed; returns the
// last count seen.
size_t ThreadCountReaching(size_t want) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(10);
  size_t count = ThreadsOfThisProcess();
  while (count != want && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    count = ThreadsOfThisProcess();
  }
  return count;
}

TEST(ContextThreads, DestroyReleasesThreads) {
  // A first context and thread let runtimes (e.g. a sanitizer's background
  // thread) start theirs before counting.
  qgemm_context* warm = nullptr;
  ASSERT_EQ(qgemm_context_create(2, &warm), QGEMM_OK);
  qgemm_context_destroy(warm);
  std::thread([] {}).join();
  const size_t before = SettledThreadCount();
  ASSERT_GT(before, 0u);
  std::vector<qgemm_context*> contexts(3);
  for (auto& ctx : contexts) ASSERT_EQ(qgemm_context_create(4, &ctx), QGEMM_OK);
  // Each context of 4 threads starts 3: the caller is the fourth.
  EXPECT_EQ(ThreadCountReaching(before + 3 * 3), before + 3 * 3);
  for (auto* ctx : contexts) qgemm_context_destroy(ctx);
  EXPECT_EQ(ThreadCountReaching(before), before);
}

}  // namespace
}  // namespace qgemm_test

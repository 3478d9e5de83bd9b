// The caller's thread pool (qgemm_context_create_with_executor): results
// through three executors (pthreadpool, a serial loop, one thread per index
// started in reverse order) are byte for byte the reference's and qgemm's
// own threads', every executor call keeps the contract (each index once,
// no more indices than threads, never from inside a task), the ISA thread
// hooks run on the executor's threads, and bad arguments are refused.
#include <gtest/gtest.h>
#include <qgemm/qgemm.h>

#include <qgemm/qgemm.hpp>

#if QGEMM_TEST_HAVE_PTHREADPOOL
#include <pthreadpool.h>
#endif

#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "dispatch/driver.h"
#include "dispatch/isa.h"
#include "gemm_case.h"
#include "tables_under_test.h"

// ThreadSanitizer sees no synchronization inside an uninstrumented
// library: pthreadpool's hand-offs between threads would read as races.
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define QGEMM_TEST_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define QGEMM_TEST_TSAN 1
#endif

namespace qgemm_test {
namespace {

thread_local bool t_in_task = false;

// An executor under test: Run() is how it runs indices; ParallelFor() is
// what qgemm calls, and checks the contract around Run().
class Executor {
 public:
  explicit Executor(int num_threads) : num_threads_(num_threads) {}
  virtual ~Executor() = default;
  virtual void Run(qgemm_task_fn task, void* task_context, size_t count) = 0;

  static void ParallelFor(void* self, qgemm_task_fn task, void* task_context,
                          size_t count) {
    static_cast<Executor*>(self)->Checked(task, task_context, count);
  }

  int num_threads() const { return num_threads_; }
  int calls() const { return calls_.load(); }
  // "" or the first broken rule.
  std::string violation() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return violation_;
  }
  // Threads that ran an index, other than the one calling qgemm.
  size_t other_threads() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return threads_.size() - threads_.count(caller_);
  }
  void set_caller() { caller_ = std::this_thread::get_id(); }

 private:
  struct Call {
    Executor* self;
    qgemm_task_fn task;
    void* task_context;
    std::unique_ptr<std::atomic<int>[]> runs;
  };

  static void Wrapped(void* call, size_t i) {
    auto& c = *static_cast<Call*>(call);
    c.runs[i]++;
    {
      std::lock_guard<std::mutex> lock(c.self->mutex_);
      c.self->threads_.insert(std::this_thread::get_id());
    }
    t_in_task = true;
    c.task(c.task_context, i);
    t_in_task = false;
  }

  void Fail(const std::string& why) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (violation_.empty()) violation_ = why;
  }

  void Checked(qgemm_task_fn task, void* task_context, size_t count) {
    calls_++;
    if (t_in_task) Fail("parallel_for called from inside a task");
    if (count == 0 || count > static_cast<size_t>(num_threads_)) {
      Fail("count " + std::to_string(count) + " for " +
           std::to_string(num_threads_) + " threads");
    }
    Call call{this, task, task_context,
              std::make_unique<std::atomic<int>[]>(count)};
    for (size_t i = 0; i < count; ++i) call.runs[i] = 0;
    Run(Wrapped, &call, count);
    for (size_t i = 0; i < count; ++i) {
      if (call.runs[i] != 1) {
        Fail("index " + std::to_string(i) + " ran " +
             std::to_string(call.runs[i].load()) + " times");
      }
    }
  }

  const int num_threads_;
  std::atomic<int> calls_{0};
  mutable std::mutex mutex_;
  std::string violation_;
  std::set<std::thread::id> threads_;
  std::thread::id caller_;
};

class SerialExecutor : public Executor {
 public:
  using Executor::Executor;
  void Run(qgemm_task_fn task, void* task_context, size_t count) override {
    for (size_t i = 0; i < count; ++i) task(task_context, i);
  }
};

// One new thread per index, started from the last index down: indices run
// out of order, concurrently, and never on the calling thread.
class ReverseThreadsExecutor : public Executor {
 public:
  using Executor::Executor;
  void Run(qgemm_task_fn task, void* task_context, size_t count) override {
    std::vector<std::thread> threads;
    for (size_t i = count; i-- > 0;) {
      threads.emplace_back([=] { task(task_context, i); });
    }
    for (std::thread& t : threads) t.join();
  }
};

#if QGEMM_TEST_HAVE_PTHREADPOOL
class PthreadpoolExecutor : public Executor {
 public:
  explicit PthreadpoolExecutor(int num_threads)
      : Executor(num_threads),
        pool_(pthreadpool_create(static_cast<size_t>(num_threads))) {}
  ~PthreadpoolExecutor() override { pthreadpool_destroy(pool_); }
  void Run(qgemm_task_fn task, void* task_context, size_t count) override {
    // qgemm_task_fn is pthreadpool_task_1d_t: void (*)(void*, size_t).
    // The flag sends pthreadpool's workers to sleep after each call rather
    // than spinning: between calls this test computes references on a
    // machine that may have fewer cores than threads.
    pthreadpool_parallelize_1d(pool_, task, task_context, count,
                               PTHREADPOOL_FLAG_YIELD_WORKERS);
  }

 private:
  pthreadpool_t pool_;
};
#endif

enum class Kind { kPthreadpool, kSerial, kReverseThreads };

const char* KindName(Kind k) {
  switch (k) {
    case Kind::kPthreadpool:
      return "pthreadpool";
    case Kind::kSerial:
      return "serial";
    case Kind::kReverseThreads:
      return "reverse_threads";
  }
  return "?";
}

// The executor of a kind, or null with why it is not in this build.
std::unique_ptr<Executor> MakeExecutor(Kind kind, int num_threads,
                                       std::string* why_not) {
  (void)why_not;
  switch (kind) {
    case Kind::kPthreadpool:
#if QGEMM_TEST_HAVE_PTHREADPOOL && QGEMM_TEST_TSAN
      *why_not =
          "pthreadpool is not built with ThreadSanitizer, which cannot see "
          "its hand-offs between threads (the serial and reverse_threads "
          "executors run here instead)";
      return nullptr;
#elif QGEMM_TEST_HAVE_PTHREADPOOL
      return std::make_unique<PthreadpoolExecutor>(num_threads);
#else
      *why_not =
          "pthreadpool (libpthreadpool-dev) was not found when this test "
          "was configured";
      return nullptr;
#endif
    case Kind::kSerial:
      return std::make_unique<SerialExecutor>(num_threads);
    case Kind::kReverseThreads:
      return std::make_unique<ReverseThreadsExecutor>(num_threads);
  }
  return nullptr;
}

// Restores the cost model's decisions when a test ends, however it ends.
struct SplitEveryCall {
  explicit SplitEveryCall(bool on) { qgemm::SplitEveryCallForTesting(on); }
  ~SplitEveryCall() { qgemm::SplitEveryCallForTesting(false); }
};

constexpr Call kCalls[] = {Call::kRequant, Call::kS32, Call::kPackedKN,
                           Call::kPackedNK, Call::kPackedS32};

struct ExecutorParam {
  Kind kind;
  TableUnderTest table;
};

std::string ParamName(const testing::TestParamInfo<ExecutorParam>& info) {
  return std::string(KindName(info.param.kind)) + "_" + info.param.table.name;
}

// gtest shows the parameter in ctest's names and in failures.
void PrintTo(const ExecutorParam& p, std::ostream* os) {
  *os << KindName(p.kind) << " executor, ";
  PrintTo(p.table, os);
}

std::vector<ExecutorParam> AllParams() {
  std::vector<ExecutorParam> out;
  for (Kind kind : {Kind::kPthreadpool, Kind::kSerial, Kind::kReverseThreads}) {
    for (const TableUnderTest& t : TablesUnderTest()) out.push_back({kind, t});
  }
  return out;
}

class ExecutorTest : public testing::TestWithParam<ExecutorParam> {
 protected:
  // An executor and a context on it with the table; false: skipped.
  bool Make(int num_threads) {
    const ExecutorParam& p = GetParam();
    const std::string why = WhyNotRunnable(p.table);
    if (!why.empty()) {
      skip_ = p.table.name + " cannot run here: " + why;
      return false;
    }
    executor_ = MakeExecutor(p.kind, num_threads, &skip_);
    if (executor_ == nullptr) return false;
    executor_->set_caller();
    EXPECT_EQ(qgemm_context_create_with_executor(
                  Executor::ParallelFor, executor_.get(), num_threads, &ctx_),
              QGEMM_OK);
    if (ctx_ == nullptr) return false;
    EXPECT_EQ(qgemm_context_num_threads(ctx_), num_threads);
    EXPECT_EQ(UseTable(ctx_, p.table), "");
    return true;
  }
  void TearDown() override { qgemm_context_destroy(ctx_); }

  std::unique_ptr<Executor> executor_;
  qgemm_context* ctx_ = nullptr;
  std::string skip_;
};

// Every adversarial case of the kernel tests, split over 2 and 3 slots
// however small, through the executor: byte for byte the reference.
TEST_P(ExecutorTest, MatchesReferenceOnAdversarialCases) {
  const SplitEveryCall split(true);
  for (int threads : {2, 3}) {
    if (!Make(threads)) GTEST_SKIP() << skip_;
    const qgemm::KernelTable& t = *GetParam().table.table;
    int failures = 0;
    for (Call call : kCalls) {
      for (const GemmCase& gc : AdversarialCases(t.mr, t.nr, t.kr)) {
        const std::string err = RunCase(ctx_, gc, call);
        EXPECT_EQ(err, "") << threads << " threads, call "
                           << static_cast<int>(call) << ", " << gc.Name();
        if (!err.empty() && ++failures >= 5) return;
      }
    }
    EXPECT_GT(executor_->calls(), 0);
    EXPECT_EQ(executor_->violation(), "");
    qgemm_context_destroy(ctx_);
    ctx_ = nullptr;
  }
}

// Shapes large enough for the cost model to split them (on its own, and
// forced finer), cut along M, along N and both: the executor's C is byte
// for byte that of qgemm's own threads and of one thread.
TEST_P(ExecutorTest, SameBytesAsOwnThreads) {
  if (!Make(4)) GTEST_SKIP() << skip_;
  const TableUnderTest& table = GetParam().table;
  struct Shape {
    size_t m, n, k;
  };
  const Shape shapes[] = {
      {192, 160, 96}, {9, 1500, 40}, {1000, 9, 40}, {67, 45, 19}};
  std::mt19937 rng(11);
  const auto run =
      [](qgemm_context* ctx, const Shape& s, const std::vector<uint8_t>& a,
         const std::vector<uint8_t>& b, const qgemm_requant& rq, bool s32) {
        // int32 storage so the s32 call gets an aligned C; the requant call
        // writes its bytes at the front of the same buffer.
        std::vector<int32_t> c(s.m * s.n, static_cast<int32_t>(0xA5A5A5A5u));
        const qgemm_status st =
            s32 ? qgemm_u8u8_s32(ctx, s.m, s.n, s.k, a.data(), s.k, 7, b.data(),
                                 s.n, 200, rq.bias, c.data(), s.n)
                : qgemm_u8u8_requant(ctx, s.m, s.n, s.k, a.data(), s.k, 7,
                                     b.data(), s.n, 200, &rq,
                                     reinterpret_cast<uint8_t*>(c.data()), s.n);
        EXPECT_EQ(st, QGEMM_OK) << qgemm_last_error();
        return c;
      };
  qgemm_context* own = nullptr;
  qgemm_context* single = nullptr;
  ASSERT_EQ(qgemm_context_create(4, &own), QGEMM_OK);
  ASSERT_EQ(qgemm_context_create(1, &single), QGEMM_OK);
  ASSERT_EQ(UseTable(own, table), "");
  ASSERT_EQ(UseTable(single, table), "");
  for (bool forced : {false, true}) {
    const SplitEveryCall split(forced);
    for (const Shape& s : shapes) {
      std::vector<uint8_t> a(s.m * s.k), b(s.k * s.n);
      for (auto& x : a) x = static_cast<uint8_t>(rng());
      for (auto& x : b) x = static_cast<uint8_t>(rng());
      std::vector<int32_t> mult(s.n), shift(s.n), bias(s.n);
      for (size_t j = 0; j < s.n; ++j) {
        mult[j] = (1 << 30) + static_cast<int32_t>(rng() % (1 << 29));
        shift[j] = -static_cast<int32_t>(6 + j % 5);
        bias[j] = static_cast<int32_t>(rng() % 20001) - 10000;
      }
      qgemm_requant rq{};
      rq.bias = bias.data();
      rq.multiplier = mult.data();
      rq.shift = shift.data();
      rq.per_channel = 1;
      rq.c_zero_point = 120;
      rq.c_max = 255;
      for (bool s32 : {false, true}) {
        const auto want = run(single, s, a, b, rq, s32);
        EXPECT_TRUE(want == run(own, s, a, b, rq, s32))
            << s.m << "x" << s.n << "x" << s.k << (forced ? " forced" : "");
        EXPECT_TRUE(want == run(ctx_, s, a, b, rq, s32))
            << s.m << "x" << s.n << "x" << s.k << (forced ? " forced" : "");
      }
    }
  }
  qgemm_context_destroy(own);
  qgemm_context_destroy(single);
  EXPECT_GT(executor_->calls(), 0);
  EXPECT_EQ(executor_->violation(), "");
}

INSTANTIATE_TEST_SUITE_P(AllTables, ExecutorTest,
                         testing::ValuesIn(AllParams()), ParamName);

// With one thread, or a problem too small to gain, qgemm runs on the
// calling thread and never calls parallel_for; a large one is split for
// num_threads.
TEST(Executor, SmallProblemsStayOnTheCallingThread) {
  SerialExecutor one(1), two(2);
  qgemm_context* ctx_one = nullptr;
  qgemm_context* ctx_two = nullptr;
  ASSERT_EQ(qgemm_context_create_with_executor(Executor::ParallelFor, &one, 1,
                                               &ctx_one),
            QGEMM_OK);
  ASSERT_EQ(qgemm_context_create_with_executor(Executor::ParallelFor, &two, 2,
                                               &ctx_two),
            QGEMM_OK);
  GemmCase small;
  small.m = small.n = small.k = 8;
  GemmCase large;
  large.m = large.n = large.k = 256;
  for (Call call : kCalls) {
    EXPECT_EQ(RunCase(ctx_one, large, call), "");
    EXPECT_EQ(RunCase(ctx_two, small, call), "");
  }
  EXPECT_EQ(one.calls(), 0);
  EXPECT_EQ(two.calls(), 0);
  for (Call call : kCalls) EXPECT_EQ(RunCase(ctx_two, large, call), "");
  EXPECT_GE(two.calls(), 5);
  EXPECT_EQ(two.violation(), "");
  qgemm_context_destroy(ctx_one);
  qgemm_context_destroy(ctx_two);
}

// The ISA's thread hooks bracket every kernel call on the executor's
// threads (a hooked copy of the scalar table counts them).
std::atomic<int> g_open_threads{0};
std::atomic<int> g_begins{0};
std::atomic<int> g_unbracketed{0};
std::mutex g_kernel_threads_mutex;
std::set<std::thread::id> g_kernel_threads;
thread_local bool t_configured = false;
qgemm::GemmTileFn g_real_u8 = nullptr;
qgemm::GemmTileFn g_real_s32 = nullptr;

void CountingBegin() {
  if (t_configured) g_unbracketed++;  // nested begin
  t_configured = true;
  g_open_threads++;
  g_begins++;
}
void CountingEnd() {
  if (!t_configured) g_unbracketed++;
  t_configured = false;
  g_open_threads--;
}
void NoteKernelThread() {
  if (!t_configured) g_unbracketed++;
  std::lock_guard<std::mutex> lock(g_kernel_threads_mutex);
  g_kernel_threads.insert(std::this_thread::get_id());
}
void CheckedU8(const qgemm::TileArgs* args) {
  NoteKernelThread();
  g_real_u8(args);
}
void CheckedS32(const qgemm::TileArgs* args) {
  NoteKernelThread();
  g_real_s32(args);
}

class ExecutorHooksTest : public testing::TestWithParam<Kind> {};

TEST_P(ExecutorHooksTest, ThreadHooksBracketKernelsOnTheExecutorsThreads) {
  const qgemm::IsaEntry* scalar = qgemm::FindIsa("scalar");
  ASSERT_NE(scalar, nullptr);
  qgemm::KernelTable hooked = *scalar->table;
  g_real_u8 = hooked.gemm_u8[0];
  g_real_s32 = hooked.gemm_s32[0];
  hooked.gemm_u8[0] = CheckedU8;
  hooked.gemm_s32[0] = CheckedS32;
  hooked.thread_begin = CountingBegin;
  hooked.thread_end = CountingEnd;
  const TableUnderTest t{"scalar_hooked", "scalar", &hooked,
                         /*emulated=*/true};
  std::string why_not;
  const std::unique_ptr<Executor> executor =
      MakeExecutor(GetParam(), 3, &why_not);
  if (executor == nullptr) GTEST_SKIP() << why_not;
  executor->set_caller();
  qgemm_context* ctx = nullptr;
  ASSERT_EQ(qgemm_context_create_with_executor(Executor::ParallelFor,
                                               executor.get(), 3, &ctx),
            QGEMM_OK);
  ASSERT_EQ(UseTable(ctx, t), "");
  const SplitEveryCall split(true);
  g_begins = 0;
  g_unbracketed = 0;
  g_kernel_threads.clear();
  GemmCase gc;
  gc.m = 67;
  gc.n = 45;
  gc.k = 19;
  // pthreadpool runs indices on the calling thread too, and on a loaded
  // machine the caller may take them all once; twenty rounds make a pool
  // thread's turn certain.
  for (int round = 0; round < 20; ++round) {
    for (Call call :
         {Call::kRequant, Call::kS32, Call::kPackedNK, Call::kPackedS32}) {
      EXPECT_EQ(RunCase(ctx, gc, call), "");
      EXPECT_EQ(g_open_threads.load(), 0) << "a thread was left configured";
    }
  }
  EXPECT_GE(g_begins.load(), 20 * 4 * 3);  // every slot of every call
  EXPECT_EQ(g_unbracketed.load(), 0);
  EXPECT_EQ(executor->violation(), "");
  EXPECT_GE(executor->other_threads(), 1u);
  {
    std::lock_guard<std::mutex> lock(g_kernel_threads_mutex);
    const size_t on_caller = g_kernel_threads.count(std::this_thread::get_id());
    EXPECT_GE(g_kernel_threads.size() - on_caller, 1u)
        << "no kernel ran on a thread of the executor";
    if (GetParam() == Kind::kReverseThreads) {
      EXPECT_EQ(on_caller, 0u);
    }
  }
  qgemm_context_destroy(ctx);
}

INSTANTIATE_TEST_SUITE_P(Executors, ExecutorHooksTest,
                         testing::Values(Kind::kPthreadpool,
                                         Kind::kReverseThreads),
                         [](const testing::TestParamInfo<Kind>& p) {
                           return std::string(KindName(p.param));
                         });

void NeverCalled(void* executor, qgemm_task_fn, void*, size_t) {
  ++*static_cast<int*>(executor);
}

TEST(Executor, BadArgumentsAreRefusedAndOutIsNull) {
  int calls = 0;
  qgemm_context* sentinel = reinterpret_cast<qgemm_context*>(
      reinterpret_cast<uintptr_t>(&calls));  // any non-null value
  qgemm_context* ctx = sentinel;
  EXPECT_EQ(qgemm_context_create_with_executor(nullptr, &calls, 2, &ctx),
            QGEMM_INVALID_ARGUMENT);
  EXPECT_EQ(ctx, nullptr);
  EXPECT_NE(std::string(qgemm_last_error()).find("parallel_for"),
            std::string::npos)
      << qgemm_last_error();
  for (int threads : {0, -1, -2147483647 - 1}) {
    ctx = sentinel;
    EXPECT_EQ(
        qgemm_context_create_with_executor(NeverCalled, &calls, threads, &ctx),
        QGEMM_INVALID_ARGUMENT)
        << threads;
    EXPECT_EQ(ctx, nullptr);
    EXPECT_NE(std::string(qgemm_last_error()).find("num_threads"),
              std::string::npos)
        << qgemm_last_error();
  }
  EXPECT_EQ(qgemm_context_create_with_executor(NeverCalled, &calls, 2, nullptr),
            QGEMM_INVALID_ARGUMENT);
  EXPECT_EQ(calls, 0);
  // Above 256 the count is clamped, like qgemm's own threads.
  ASSERT_EQ(
      qgemm_context_create_with_executor(NeverCalled, &calls, 100000, &ctx),
      QGEMM_OK);
  EXPECT_EQ(qgemm_context_num_threads(ctx), 256);
  qgemm_context_destroy(ctx);
  EXPECT_EQ(calls, 0);
}

TEST(Executor, CppWrapper) {
  SerialExecutor serial(2);
  qgemm::Context ctx =
      qgemm::Context::create_with_executor(Executor::ParallelFor, &serial, 2);
  EXPECT_EQ(ctx.num_threads(), 2);
  EXPECT_FALSE(ctx.isa().empty());
  GemmCase large;
  large.m = large.n = large.k = 256;
  EXPECT_EQ(RunCase(ctx.get(), large, Call::kPackedNK), "");
  EXPECT_GE(serial.calls(), 1);
  try {
    qgemm::Context::create_with_executor(nullptr, nullptr, 2);
    ADD_FAILURE() << "no exception";
  } catch (const qgemm::Error& e) {
    EXPECT_EQ(e.status(), QGEMM_INVALID_ARGUMENT);
  }
  qgemm::Context out;
  EXPECT_EQ(qgemm::Context::try_create_with_executor(Executor::ParallelFor,
                                                     &serial, 0, &out),
            QGEMM_INVALID_ARGUMENT);
  EXPECT_FALSE(out);
  EXPECT_EQ(qgemm::Context::try_create_with_executor(Executor::ParallelFor,
                                                     &serial, 1, nullptr),
            QGEMM_INVALID_ARGUMENT);
}

}  // namespace
}  // namespace qgemm_test

#include "dispatch/thread_pool.h"

#include <algorithm>
#include <chrono>
#include <system_error>

namespace qgemm {
namespace {
std::atomic<int> g_thread_starts_until_failure{-1};

// The test hook: throws what std::thread throws when the system is out of
// threads.
void MaybeFailThreadStart() {
  int left = g_thread_starts_until_failure.load(std::memory_order_relaxed);
  while (left >= 0) {
    if (left == 0) {
      throw std::system_error(
          std::make_error_code(std::errc::resource_unavailable_try_again),
          "thread start refused by FailThreadStartAfterForTesting");
    }
    if (g_thread_starts_until_failure.compare_exchange_weak(left, left - 1)) {
      return;
    }
  }
}

// Polls done() with the pause hint until it holds or the spin budget is
// spent; the clock (a vDSO read, no system call) is read every 32 polls.
template <typename Done>
bool SpinUntil(Done done) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point deadline =
      Clock::now() + std::chrono::nanoseconds(ThreadPool::kSpinNanoseconds);
  for (;;) {
    for (int i = 0; i < 32; ++i) {
      if (done()) return true;
      CpuRelax();
    }
    if (Clock::now() >= deadline) return done();
  }
}

uint64_t GenerationOf(uint64_t loop, int shift) { return loop >> shift; }

}  // namespace

void FailThreadStartAfterForTesting(int successes) {
  g_thread_starts_until_failure.store(successes, std::memory_order_relaxed);
}

void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__) || (defined(__arm__) && __ARM_ARCH >= 7)
  __asm__ __volatile__("yield" ::: "memory");
#else
  std::atomic_signal_fence(std::memory_order_seq_cst);
#endif
}

ThreadPool::ThreadPool(int num_workers)
    : claims_(new TaskClaim[static_cast<size_t>(std::max(num_workers, 1))]) {
  for (int w = 1; w < num_workers; ++w) {
    try {
      MaybeFailThreadStart();
      threads_.emplace_back([this, w] { WorkerLoop(w); });
    } catch (const std::system_error&) {
      break;  // fewer threads than asked; num_workers() tells
    } catch (const std::bad_alloc&) {
      break;
    }
  }
}

ThreadPool::~ThreadPool() {
  stopping_.store(true);
  {
    // A worker between its check of stopping_ and its wait holds the
    // mutex: taking it here orders the notify after that wait.
    std::lock_guard<std::mutex> lock(mutex_);
  }
  wake_cv_.notify_all();
  for (std::thread& t : threads_) t.join();
}

bool ThreadPool::Claim(size_t task) {
  return task >= claimable_ ||
         !claims_[task].taken.exchange(true, std::memory_order_relaxed);
}

void ThreadPool::DrainTasks(int worker) {
  // Task w first for worker w: a loop of one task per worker runs the same
  // task on the same thread call after call, where its data is cached.
  const auto own = static_cast<size_t>(worker);
  if (own < num_tasks_ && Claim(own)) fn_(state_, own, worker);
  for (;;) {
    const size_t t = next_task_.fetch_add(1, std::memory_order_relaxed);
    if (t >= num_tasks_) return;
    if (t != own && Claim(t)) fn_(state_, t, worker);
  }
}

bool ThreadPool::JoinNextLoop(uint64_t* seen) {
  for (;;) {
    uint64_t loop = loop_.load(std::memory_order_acquire);
    const auto published = [&] {
      loop = loop_.load(std::memory_order_acquire);
      return GenerationOf(loop, kGenerationShift) != *seen ||
             stopping_.load(std::memory_order_relaxed);
    };
    if (!SpinUntil(published)) {
      std::unique_lock<std::mutex> lock(mutex_);
      // seq_cst on both sides (here and in Run): either Run sees this
      // worker counted as sleeping and notifies, or the load below sees
      // Run's new loop.
      sleeping_workers_.fetch_add(1);
      while (!stopping_.load() &&
             GenerationOf(loop_.load(), kGenerationShift) == *seen) {
        wake_cv_.wait(lock);
      }
      sleeping_workers_.fetch_sub(1);
      loop = loop_.load(std::memory_order_acquire);
    }
    if (stopping_.load()) return false;
    const uint64_t generation = GenerationOf(loop, kGenerationShift);
    if (generation == *seen) continue;
    if ((loop & kClosed) != 0) {
      *seen = generation;  // missed that one: the caller finished it alone
      continue;
    }
    // Joins unless the caller closed the loop (or published another) in
    // the meantime; acquire: fn_, state_ and num_tasks_ of this loop.
    if (loop_.compare_exchange_weak(loop, loop + 1, std::memory_order_acq_rel,
                                    std::memory_order_relaxed)) {
      *seen = generation;
      return true;
    }
  }
}

void ThreadPool::WorkerLoop(int worker) {
  uint64_t seen = 0;
  while (JoinNextLoop(&seen)) {
    DrainTasks(worker);
    // seq_cst, paired with the caller's store of caller_sleeping_.
    finished_.fetch_add(1);
    if (caller_sleeping_.load()) {
      std::lock_guard<std::mutex> lock(mutex_);
      done_cv_.notify_one();
    }
  }
}

void ThreadPool::Run(size_t num_tasks, TaskFn fn, void* state) {
  if (threads_.empty() || num_tasks <= 1) {
    for (size_t t = 0; t < num_tasks; ++t) fn(state, t, 0);
    return;
  }
  // No worker is inside a loop here (the last Run waited for every one
  // that joined), so these plain writes race with nobody; the store of
  // loop_ publishes them.
  fn_ = fn;
  state_ = state;
  num_tasks_ = num_tasks;
  claimable_ = std::min(num_tasks, threads_.size() + 1);
  for (size_t t = 0; t < claimable_; ++t) {
    claims_[t].taken.store(false, std::memory_order_relaxed);
  }
  next_task_.store(0, std::memory_order_relaxed);
  finished_.store(0, std::memory_order_relaxed);
  const uint64_t generation =
      GenerationOf(loop_.load(std::memory_order_relaxed), kGenerationShift) + 1;
  loop_.store(generation << kGenerationShift);
  if (sleeping_workers_.load() > 0) {
    { std::lock_guard<std::mutex> lock(mutex_); }
    wake_cv_.notify_all();
  }
  DrainTasks(0);
  // Closing freezes the count of workers that joined: a late one finds the
  // loop closed and never touches this call's state.
  const uint64_t joined =
      loop_.fetch_or(kClosed, std::memory_order_acq_rel) & kJoinedMask;
  const auto all_finished = [&] {
    return finished_.load(std::memory_order_acquire) == joined;
  };
  if (!SpinUntil(all_finished)) {
    std::unique_lock<std::mutex> lock(mutex_);
    caller_sleeping_.store(true);
    while (finished_.load() != joined) done_cv_.wait(lock);
    caller_sleeping_.store(false);
  }
}

}  // namespace qgemm

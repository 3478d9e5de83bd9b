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

bool ThreadPool::Claim(size_t t, uint64_t generation) {
  return claims_[t].generation.exchange(
             generation, std::memory_order_relaxed) != generation;
}

void ThreadPool::DrainTasks(int worker, uint64_t generation) {
  const size_t num_tasks = loop_.num_tasks;
  const auto own = static_cast<size_t>(worker);
  if (own < num_tasks && Claim(own, generation)) {
    loop_.fn(loop_.state, own, worker);
  }
  const auto workers = static_cast<size_t>(num_workers());
  if (num_tasks <= workers) return;  // no shared counter to touch
  for (;;) {
    const size_t t = next_task_.fetch_add(1, std::memory_order_relaxed);
    if (t >= num_tasks) return;
    loop_.fn(loop_.state, t, worker);
  }
}

bool ThreadPool::JoinNextLoop(uint64_t* seen) {
  for (;;) {
    uint64_t word = loop_.word.load(std::memory_order_acquire);
    const auto published = [&] {
      word = loop_.word.load(std::memory_order_acquire);
      return GenerationOf(word, kGenerationShift) != *seen ||
             stopping_.load(std::memory_order_relaxed);
    };
    if (!SpinUntil(published)) {
      std::unique_lock<std::mutex> lock(mutex_);
      // seq_cst on both sides (here and in Run): either Run sees this
      // worker counted as sleeping and notifies, or the load below sees
      // Run's new loop.
      sleeping_workers_.fetch_add(1);
      while (!stopping_.load() &&
             GenerationOf(loop_.word.load(), kGenerationShift) == *seen) {
        wake_cv_.wait(lock);
      }
      sleeping_workers_.fetch_sub(1);
      word = loop_.word.load(std::memory_order_acquire);
    }
    if (stopping_.load()) return false;
    const uint64_t generation = GenerationOf(word, kGenerationShift);
    if (generation == *seen) continue;
    if ((word & kClosed) != 0) {
      *seen = generation;  // missed that one: the caller finished it alone
      continue;
    }
    // Joins unless the caller closed the loop (or published another) in
    // the meantime; acquire: the loop's fn, state and num_tasks.
    if (loop_.word.compare_exchange_weak(word, word + 1,
                                         std::memory_order_acq_rel,
                                         std::memory_order_relaxed)) {
      *seen = generation;
      return true;
    }
  }
}

void ThreadPool::WorkerLoop(int worker) {
  uint64_t seen = 0;
  while (JoinNextLoop(&seen)) {
    DrainTasks(worker, seen);
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
  // the loop word publishes them.
  const auto workers = static_cast<size_t>(num_workers());
  loop_.fn = fn;
  loop_.state = state;
  loop_.num_tasks = num_tasks;
  next_task_.store(workers, std::memory_order_relaxed);
  finished_.store(0, std::memory_order_relaxed);
  const uint64_t generation =
      GenerationOf(loop_.word.load(std::memory_order_relaxed),
                   kGenerationShift) +
      1;
  loop_.word.store(generation << kGenerationShift);
  if (sleeping_workers_.load() > 0) {
    { std::lock_guard<std::mutex> lock(mutex_); }
    wake_cv_.notify_all();
  }
  DrainTasks(0, generation);
  // Closing freezes the count of workers that joined: a late one finds the
  // loop closed and never touches this call's state.
  const uint64_t joined =
      loop_.word.fetch_or(kClosed, std::memory_order_acq_rel) & kJoinedMask;
  if (joined < workers - 1) {
    // The tasks of workers that stayed away (or any not yet claimed).
    for (size_t t = 1; t < std::min(num_tasks, workers); ++t) {
      if (Claim(t, generation)) fn(state, t, 0);
    }
  }
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

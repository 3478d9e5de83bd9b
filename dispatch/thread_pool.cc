#include "dispatch/thread_pool.h"

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
}  // namespace

void FailThreadStartAfterForTesting(int successes) {
  g_thread_starts_until_failure.store(successes, std::memory_order_relaxed);
}

ThreadPool::ThreadPool(int num_workers) {
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
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  start_cv_.notify_all();
  for (std::thread& t : threads_) t.join();
}

void ThreadPool::DrainTasks(int worker) {
  for (;;) {
    const size_t t = next_task_.fetch_add(1, std::memory_order_relaxed);
    if (t >= num_tasks_) return;
    fn_(state_, t, worker);
  }
}

void ThreadPool::WorkerLoop(int worker) {
  uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      start_cv_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
    }
    DrainTasks(worker);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (--busy_workers_ == 0) done_cv_.notify_one();
    }
  }
}

void ThreadPool::Run(size_t num_tasks, TaskFn fn, void* state) {
  if (threads_.empty() || num_tasks <= 1) {
    for (size_t t = 0; t < num_tasks; ++t) fn(state, t, 0);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    fn_ = fn;
    state_ = state;
    num_tasks_ = num_tasks;
    next_task_.store(0, std::memory_order_relaxed);
    busy_workers_ = static_cast<int>(threads_.size());
    ++generation_;
  }
  start_cv_.notify_all();
  DrainTasks(0);
  std::unique_lock<std::mutex> lock(mutex_);
  done_cv_.wait(lock, [&] { return busy_workers_ == 0; });
}

}  // namespace qgemm

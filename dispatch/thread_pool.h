// A fixed pool of worker threads that run one parallel loop at a time.
//
// Run() hands out task indices through an atomic counter; the caller's
// thread works too. The only lock is taken twice per Run (start, finish),
// never per task.
#ifndef QGEMM_DISPATCH_THREAD_POOL_H_
#define QGEMM_DISPATCH_THREAD_POOL_H_

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>
#include <vector>

namespace qgemm {

// Test-only: after `successes` more threads have started, every further
// thread start fails as if the system refused it (std::system_error);
// negative turns the hook off.
void FailThreadStartAfterForTesting(int successes);

class ThreadPool {
 public:
  using TaskFn = void (*)(void* state, size_t task, int worker);

  // Starts up to num_workers - 1 threads (the caller is worker 0). If a
  // thread cannot be started the pool keeps the ones it has: num_workers()
  // says how many there are.
  explicit ThreadPool(int num_workers);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_workers() const { return static_cast<int>(threads_.size()) + 1; }

  // Runs fn(state, t, worker) for t in [0, num_tasks) and returns when all
  // are done. worker is in [0, num_workers()).
  void Run(size_t num_tasks, TaskFn fn, void* state);

 private:
  void WorkerLoop(int worker);
  void DrainTasks(int worker);

  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable start_cv_;
  std::condition_variable done_cv_;
  uint64_t generation_ = 0;
  bool stopping_ = false;
  int busy_workers_ = 0;

  TaskFn fn_ = nullptr;
  void* state_ = nullptr;
  size_t num_tasks_ = 0;
  std::atomic<size_t> next_task_{0};
};

}  // namespace qgemm

#endif  // QGEMM_DISPATCH_THREAD_POOL_H_

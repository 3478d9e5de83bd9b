// A fixed pool of worker threads that run one parallel loop at a time.
//
// Run() publishes a loop through one atomic word; the caller's thread works
// too. Worker w runs task w first (so a loop of one task per worker, like
// qgemm's slots, keeps each task on the thread whose caches hold its data,
// call after call), then takes any task left from an atomic counter. Between
// loops a worker spins on that word for a bounded time (kSpinNanoseconds, with
// the CPU's pause instruction) before it sleeps on a condition variable, so
// that a caller issuing calls back to back wakes its workers without a system
// call; only a worker that went to sleep costs Run() a notify.
//
// A worker joins a loop only while it is open: once the caller has run out
// of tasks it closes the loop and waits for the workers that joined, never
// for one still waking up (that one finds the loop closed and goes back to
// waiting).
#ifndef QGEMM_DISPATCH_THREAD_POOL_H_
#define QGEMM_DISPATCH_THREAD_POOL_H_

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace qgemm {

// Test-only: after `successes` more threads have started, every further
// thread start fails as if the system refused it (std::system_error);
// negative turns the hook off.
void FailThreadStartAfterForTesting(int successes);

// The CPU's spin-wait hint (x86 PAUSE, ARM YIELD): it lets the sibling
// hyperthread run and saves power while a thread polls a flag.
void CpuRelax();

class ThreadPool {
 public:
  using TaskFn = void (*)(void* state, size_t task, int worker);

  // How long an idle worker (or a caller waiting for the last tasks) polls
  // before it sleeps. Long enough to span the gap between two calls of an
  // engine issuing GEMMs back to back; short enough that an idle pool
  // costs no CPU time to speak of (pthreadpool spins likewise).
  static constexpr int64_t kSpinNanoseconds = 200 * 1000;

  // Starts up to num_workers - 1 threads (the caller is worker 0). If a
  // thread cannot be started the pool keeps the ones it has: num_workers()
  // says how many there are.
  explicit ThreadPool(int num_workers);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_workers() const { return static_cast<int>(threads_.size()) + 1; }

  // Runs fn(state, t, worker) for t in [0, num_tasks) and returns when all
  // are done. worker is in [0, num_workers()): the caller is 0, each
  // thread of the pool has its own.
  void Run(size_t num_tasks, TaskFn fn, void* state);

 private:
  // loop_ holds (generation << kGenerationShift) | kClosed? | joined.
  static constexpr uint64_t kJoinedMask = 0xFFFF;
  static constexpr uint64_t kClosed = uint64_t{1} << 16;
  static constexpr int kGenerationShift = 17;

  void WorkerLoop(int worker);
  // Waits until a loop other than `seen` is published and joins it while
  // open; returns its generation, or false when the pool is stopping.
  bool JoinNextLoop(uint64_t* seen);
  void DrainTasks(int worker);
  // Whether the caller may run task (tasks below claimable_ run once).
  bool Claim(size_t task);

  std::vector<std::thread> threads_;

  // The published loop; written by Run before loop_ opens it.
  TaskFn fn_ = nullptr;
  void* state_ = nullptr;
  size_t num_tasks_ = 0;
  size_t claimable_ = 0;  // tasks that have a worker of their own

  struct alignas(64) TaskClaim {
    std::atomic<bool> taken{false};
  };
  std::unique_ptr<TaskClaim[]> claims_;  // one per worker

  // Each on its own cache line: workers poll loop_ while others take tasks
  // and report completion.
  alignas(64) std::atomic<uint64_t> loop_{0};
  alignas(64) std::atomic<size_t> next_task_{0};
  alignas(64) std::atomic<uint64_t> finished_{0};
  alignas(64) std::atomic<int> sleeping_workers_{0};
  std::atomic<bool> caller_sleeping_{false};
  std::atomic<bool> stopping_{false};

  std::mutex mutex_;  // only for sleeping and waking
  std::condition_variable wake_cv_;
  std::condition_variable done_cv_;
};

}  // namespace qgemm

#endif  // QGEMM_DISPATCH_THREAD_POOL_H_

// A fixed pool of worker threads that run one parallel loop at a time.
//
// Run() publishes a loop through one atomic word; the caller's thread works
// too. Worker w runs task w (so a loop of one task per worker, like qgemm's
// slots, keeps each task on the thread whose caches hold its data, call
// after call), and tasks past the last worker's come from an atomic
// counter; the caller runs the tasks of workers that did not join. Between
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
  // Loop::word holds (generation << kGenerationShift) | kClosed? | joined.
  static constexpr uint64_t kJoinedMask = 0xFFFF;
  static constexpr uint64_t kClosed = uint64_t{1} << 16;
  static constexpr int kGenerationShift = 17;

  void WorkerLoop(int worker);
  // Waits until a loop other than `seen` is published and joins it while
  // open; returns false when the pool is stopping.
  bool JoinNextLoop(uint64_t* seen);
  // Worker w's share of the loop of `generation`: task w, then the tasks
  // past the last worker's.
  void DrainTasks(int worker, uint64_t generation);
  // Whether task t (< num_workers()) is still to run in the loop of
  // `generation`; true at most once per task and loop.
  bool Claim(size_t t, uint64_t generation);

  std::vector<std::thread> threads_;

  // The published loop, one cache line: a joining worker finds the loop's
  // function and size on the line it polled. Run writes fn, state and
  // num_tasks before opening the loop through word.
  struct alignas(64) Loop {
    std::atomic<uint64_t> word{0};
    TaskFn fn = nullptr;
    void* state = nullptr;
    size_t num_tasks = 0;
  };
  Loop loop_;

  // The generation of the last loop that ran task w, one line per worker:
  // worker w claims its own task on a line it alone writes, call after
  // call (the caller reads it only when a worker did not join).
  struct alignas(64) TaskClaim {
    std::atomic<uint64_t> generation{0};
  };
  std::unique_ptr<TaskClaim[]> claims_;

  // Each on its own cache line.
  alignas(64) std::atomic<size_t> next_task_{0};  // tasks >= num_workers()
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

// The context behind the C API's opaque qgemm_context: the thread pool, the
// kernel table chosen for it, and grow-only scratch reused across calls.
#ifndef QGEMM_DISPATCH_CONTEXT_H_
#define QGEMM_DISPATCH_CONTEXT_H_

#include <atomic>
#include <memory>
#include <vector>

#include "dispatch/kernel_table.h"
#include "dispatch/memory.h"
#include "dispatch/thread_pool.h"

namespace qgemm {

struct WorkerScratch {
  ScratchBuffer a_panels;     // one MC-row block of packed A
  ScratchBuffer row_offsets;  // MC int32
};

}  // namespace qgemm

struct qgemm_context {
  int num_threads = 1;
  std::unique_ptr<qgemm::ThreadPool> pool;  // null with one thread
  const qgemm::KernelTable* table = nullptr;
  std::vector<qgemm::WorkerScratch> workers;  // one per pool worker
  qgemm::ScratchBuffer packed_b;              // B panels of an unpacked call
  qgemm::ScratchBuffer col_sums;              // their column sums
  qgemm::ScratchBuffer col_params;  // TileColumns arrays, 4 x n_padded
  std::atomic<bool> in_use{false};
};

namespace qgemm {

// Thread counts above this are clamped (qgemm_context_num_threads tells).
constexpr int kMaxThreads = 256;

// Creates a context with num_threads threads (0: all cores) on table.
// Returns null when out of memory.
qgemm_context* NewContext(int num_threads, const KernelTable* table);

// Runs fn over tasks on the context's threads (or the caller's alone). When
// kernel_hooks_of has thread hooks, every task runs between its
// thread_begin and thread_end, on whichever thread runs the task.
void ParallelFor(qgemm_context* ctx, size_t num_tasks, ThreadPool::TaskFn fn,
                 void* state, const KernelTable* kernel_hooks_of);

}  // namespace qgemm

#endif  // QGEMM_DISPATCH_CONTEXT_H_

#include "dispatch/context.h"

#include <new>
#include <thread>

namespace qgemm {

qgemm_context* NewContext(int num_threads, const KernelTable* table) {
  if (num_threads == 0) {
    num_threads = static_cast<int>(std::thread::hardware_concurrency());
    if (num_threads <= 0) num_threads = 1;
  }
  // A hostile count (INT_MAX) would otherwise start threads until the
  // system refuses; more than kMaxThreads never helps a GEMM.
  if (num_threads > kMaxThreads) num_threads = kMaxThreads;
  // The context itself goes through the failing-allocation hook too, so
  // that out-of-memory paths are testable end to end.
  void* mem = AllocateAligned(sizeof(qgemm_context));
  if (mem == nullptr) return nullptr;
  auto* ctx = new (mem) qgemm_context;
  ctx->table = table;
  try {
    if (num_threads > 1) {
      ctx->pool = std::make_unique<ThreadPool>(num_threads);
      if (ctx->pool->num_workers() == 1) ctx->pool.reset();
    }
    ctx->num_threads = ctx->pool ? ctx->pool->num_workers() : 1;
    ctx->workers.resize(static_cast<size_t>(ctx->num_threads));
  } catch (const std::bad_alloc&) {
    ctx->~qgemm_context();
    FreeAligned(mem);
    return nullptr;
  }
  return ctx;
}

namespace {

struct HookedTasks {
  ThreadPool::TaskFn fn;
  void* state;
  const KernelTable* table;
};

// Per task rather than per thread and call: whatever runs the tasks, a
// thread is configured exactly while it runs kernel code, and the hooks
// (an LDTILECFG, a TILERELEASE) cost nothing beside a task's work.
void RunHookedTask(void* hooked, size_t task, int worker) {
  const auto& h = *static_cast<const HookedTasks*>(hooked);
  h.table->thread_begin();
  h.fn(h.state, task, worker);
  h.table->thread_end();
}

}  // namespace

void ParallelFor(qgemm_context* ctx, size_t num_tasks, ThreadPool::TaskFn fn,
                 void* state, const KernelTable* kernel_hooks_of) {
  HookedTasks hooked{fn, state, kernel_hooks_of};
  if (kernel_hooks_of != nullptr && kernel_hooks_of->thread_begin != nullptr) {
    fn = RunHookedTask;
    state = &hooked;
  }
  if (ctx->pool) {
    ctx->pool->Run(num_tasks, fn, state);
  } else {
    for (size_t t = 0; t < num_tasks; ++t) fn(state, t, 0);
  }
}

}  // namespace qgemm

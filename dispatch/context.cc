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

void ParallelFor(qgemm_context* ctx, size_t num_tasks, ThreadPool::TaskFn fn,
                 void* state) {
  if (ctx->pool) {
    ctx->pool->Run(num_tasks, fn, state);
  } else {
    for (size_t t = 0; t < num_tasks; ++t) fn(state, t, 0);
  }
}

}  // namespace qgemm

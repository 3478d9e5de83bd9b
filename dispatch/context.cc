#include "dispatch/context.h"

#include <algorithm>
#include <new>
#include <thread>

namespace qgemm {

SlotRanges::~SlotRanges() {
  for (size_t i = 0; i < count_; ++i) ranges_[i].~SlotRange();
  FreeAligned(ranges_);
}

bool SlotRanges::Allocate(size_t count) {
  static_assert(alignof(SlotRange) <= kBufferAlignment,
                "AllocateAligned's alignment holds a SlotRange");
  void* mem = AllocateAligned(count * sizeof(SlotRange));
  if (mem == nullptr) return false;
  ranges_ = static_cast<SlotRange*>(mem);
  for (size_t i = 0; i < count; ++i) new (&ranges_[i]) SlotRange;
  count_ = count;
  return true;
}

namespace {

// Allocates the context (through the failing-allocation hook too, so that
// out-of-memory paths are testable end to end) with per-slot state for
// num_slots; start_pool also starts qgemm's own threads.
qgemm_context* AllocateContext(int num_slots, const KernelTable* table,
                               bool start_pool) {
  void* mem = AllocateAligned(sizeof(qgemm_context));
  if (mem == nullptr) return nullptr;
  auto* ctx = new (mem) qgemm_context;
  ctx->table = table;
  try {
    if (start_pool && num_slots > 1) {
      ctx->pool = std::make_unique<ThreadPool>(num_slots);
      if (ctx->pool->num_workers() == 1) ctx->pool.reset();
      num_slots = ctx->pool ? ctx->pool->num_workers() : 1;
    }
    ctx->num_threads = num_slots;
    ctx->workers.resize(static_cast<size_t>(num_slots));
    if (!ctx->slots.Allocate(static_cast<size_t>(num_slots))) {
      throw std::bad_alloc();
    }
  } catch (const std::bad_alloc&) {
    ctx->~qgemm_context();
    FreeAligned(mem);
    return nullptr;
  }
  return ctx;
}

}  // namespace

qgemm_context* NewContext(int num_threads, const KernelTable* table) {
  if (num_threads == 0) {
    num_threads = static_cast<int>(std::thread::hardware_concurrency());
    if (num_threads <= 0) num_threads = 1;
  }
  // A hostile count (INT_MAX) would otherwise start threads until the
  // system refuses; more than kMaxThreads never helps a GEMM.
  return AllocateContext(std::min(num_threads, kMaxThreads), table,
                         /*start_pool=*/true);
}

qgemm_context* NewExecutorContext(qgemm_parallel_for_fn parallel_for,
                                  void* executor_context, int num_threads,
                                  const KernelTable* table) {
  qgemm_context* ctx = AllocateContext(std::min(num_threads, kMaxThreads),
                                       table, /*start_pool=*/false);
  if (ctx != nullptr) {
    ctx->parallel_for = parallel_for;
    ctx->executor_context = executor_context;
  }
  return ctx;
}

namespace {

struct SlotLoop {
  qgemm_context* ctx;
  int num_slots;
  SlotItemFn fn;
  void* state;
  const KernelTable* hooks;  // null: no thread hooks
};

// Takes one item of r if any is left (the grant is the decrement of left).
bool TryGrant(SlotRange& r) {
  size_t left = r.left.load(std::memory_order_relaxed);
  while (left != 0) {
    if (r.left.compare_exchange_weak(left, left - 1,
                                     std::memory_order_relaxed)) {
      return true;
    }
  }
  return false;
}

// One slot: its own items front to back, then the other slots' from their
// far ends, nearest neighbour first.
void RunSlot(const SlotLoop& loop, int slot) {
  // Per slot rather than per thread and call: whatever runs the slots, a
  // thread is configured exactly while it runs kernel code, and the hooks
  // (an LDTILECFG, a TILERELEASE) cost nothing beside a slot's work.
  if (loop.hooks != nullptr) loop.hooks->thread_begin();
  SlotRange& own = loop.ctx->slots[static_cast<size_t>(slot)];
  while (TryGrant(own)) {
    loop.fn(loop.state, own.next.fetch_add(1, std::memory_order_relaxed), slot,
            slot);
  }
  for (int d = 1; d < loop.num_slots; ++d) {
    const int victim = (slot + d) % loop.num_slots;
    SlotRange& r = loop.ctx->slots[static_cast<size_t>(victim)];
    while (TryGrant(r)) {
      loop.fn(loop.state, r.end.fetch_sub(1, std::memory_order_relaxed) - 1,
              victim, slot);
    }
  }
  if (loop.hooks != nullptr) loop.hooks->thread_end();
}

void PoolSlotTask(void* loop, size_t slot, int /*worker*/) {
  RunSlot(*static_cast<const SlotLoop*>(loop), static_cast<int>(slot));
}

void ExecutorSlotTask(void* loop, size_t slot) {
  RunSlot(*static_cast<const SlotLoop*>(loop), static_cast<int>(slot));
}

}  // namespace

void ParallelForSlots(qgemm_context* ctx, int num_slots, const size_t* first,
                      SlotItemFn fn, void* state,
                      const KernelTable* kernel_hooks_of) {
  SlotLoop loop{
      ctx, num_slots, fn, state,
      kernel_hooks_of != nullptr && kernel_hooks_of->thread_begin != nullptr
          ? kernel_hooks_of
          : nullptr};
  for (int s = 0; s < num_slots; ++s) {
    SlotRange& r = ctx->slots[static_cast<size_t>(s)];
    r.next.store(first[s], std::memory_order_relaxed);
    r.end.store(first[s + 1], std::memory_order_relaxed);
    r.left.store(first[s + 1] - first[s], std::memory_order_relaxed);
  }
  // The pool's publication (a release store) or the executor's own hand-off
  // orders these stores before any slot runs.
  if (num_slots <= 1) {
    RunSlot(loop, 0);
  } else if (ctx->parallel_for != nullptr) {
    ctx->parallel_for(ctx->executor_context, ExecutorSlotTask, &loop,
                      static_cast<size_t>(num_slots));
  } else if (ctx->pool != nullptr) {
    ctx->pool->Run(static_cast<size_t>(num_slots), PoolSlotTask, &loop);
  } else {
    for (int s = 0; s < num_slots; ++s) RunSlot(loop, s);
  }
}

namespace {

struct TaskLoop {
  ThreadPool::TaskFn fn;
  void* state;
};

void RunTask(void* tasks, size_t task, int /*owner*/, int slot) {
  const auto& t = *static_cast<const TaskLoop*>(tasks);
  t.fn(t.state, task, slot);
}

}  // namespace

void ParallelFor(qgemm_context* ctx, size_t num_tasks, ThreadPool::TaskFn fn,
                 void* state, const KernelTable* kernel_hooks_of,
                 size_t max_slots) {
  if (num_tasks == 0) return;
  const size_t slots = std::max<size_t>(
      1, std::min({num_tasks, max_slots,
                   static_cast<size_t>(std::max(ctx->num_threads, 1))}));
  size_t first[kMaxThreads + 1];
  for (size_t s = 0; s <= slots; ++s) first[s] = s * num_tasks / slots;
  TaskLoop tasks{fn, state};
  ParallelForSlots(ctx, static_cast<int>(slots), first, RunTask, &tasks,
                   kernel_hooks_of);
}

}  // namespace qgemm

// The context behind the C API's opaque qgemm_context: where its parallel
// loops run (qgemm's own thread pool, or the caller's executor), the kernel
// table chosen for it, and grow-only scratch reused across calls.
//
// Parallel loops run in slots: a loop is cut into at most num_threads
// slots, each slot is one task of the pool or the executor, and a slot
// owns a contiguous range of the loop's items. A slot takes its own items
// in order, then steals from the far end of other slots' ranges, so a slot
// whose thread started late or was taken off its core hands its work to
// the others. The slot index, not the thread, picks the scratch: whatever
// thread runs slot s, it alone uses workers[s] while it does, so scratch
// is safe on an executor's arbitrary threads.
#ifndef QGEMM_DISPATCH_CONTEXT_H_
#define QGEMM_DISPATCH_CONTEXT_H_

#include <qgemm/qgemm.h>

#include <atomic>
#include <cstddef>
#include <memory>
#include <vector>

#include "dispatch/kernel_table.h"
#include "dispatch/memory.h"
#include "dispatch/thread_pool.h"

namespace qgemm {

// The kinds of a slot's scratch, in bytes.
struct SlotScratchBytes {
  size_t a_panels = 0, row_offsets = 0, col_params = 0;
  size_t b_panels = 0, b_sums = 0, b_ready = 0, b_stolen = 0;
};

// One slot's scratch, on cache lines of its own: a slot writes its tags
// while the others run.
struct alignas(64) WorkerScratch {
  ScratchBuffer a_panels;     // one MC-row block of packed A
  ScratchBuffer row_offsets;  // MC int32
  ScratchBuffer col_params;   // TileColumns arrays, 4 x n_padded
  // A call with unpacked B: the slot packs the B panels of its own
  // rectangle's columns here, with their column sums, each column block
  // once (b_ready: a byte per block), and a column block it steals from a
  // rectangle of other columns into b_stolen (panels, then sums).
  ScratchBuffer b_panels;
  ScratchBuffer b_sums;
  ScratchBuffer b_ready;
  ScratchBuffer b_stolen;
  // What this slot's scratch holds in the current call (the driver's
  // tags): which A block a_panels holds, so that a slot running the blocks
  // of one row range side by side packs it once, and the columns
  // [cols_begin, cols_end) expanded in col_params.
  // The tags are of call `call` (the driver's count of calls on the
  // context); a slot resets them when it first sees a new call, so the
  // caller never writes this line.
  uint64_t call = 0;
  size_t packed_a_block = 0;
  size_t cols_begin = 0, cols_end = 0;
  size_t stolen_block = 0;  // first panel + 1 of the block in b_stolen
};

// The items of one slot not yet taken: the owner takes `next` upwards,
// thieves take `end` downwards, and `left` grants each take once, so the
// two ends never meet on one item. A cache line of its own: the owner
// writes it on every item.
struct alignas(64) SlotRange {
  std::atomic<size_t> next{0};
  std::atomic<size_t> end{0};
  std::atomic<size_t> left{0};
};

// num_threads SlotRanges, allocated once with the context (through
// AllocateAligned, like all of qgemm's memory).
class SlotRanges {
 public:
  SlotRanges() = default;
  ~SlotRanges();
  SlotRanges(const SlotRanges&) = delete;
  SlotRanges& operator=(const SlotRanges&) = delete;
  bool Allocate(size_t count);  // false: out of memory
  SlotRange& operator[](size_t i) const { return ranges_[i]; }

 private:
  SlotRange* ranges_ = nullptr;
  size_t count_ = 0;
};

}  // namespace qgemm

struct qgemm_context {
  int num_threads = 1;
  std::unique_ptr<qgemm::ThreadPool> pool;  // null with one thread or with
                                            // an executor
  // The caller's executor (qgemm_context_create_with_executor), or null.
  qgemm_parallel_for_fn parallel_for = nullptr;
  void* executor_context = nullptr;
  const qgemm::KernelTable* table = nullptr;
  std::vector<qgemm::WorkerScratch> workers;  // one per slot
  qgemm::SlotRanges slots;                    // num_threads of them
  // What the driver last reserved in every slot's scratch of the first
  // reserved_slots, so that a call that fits touches no slot's scratch
  // before its loop (a slot's lines stay in its own thread's cache).
  size_t reserved_slots = 0;
  qgemm::SlotScratchBytes reserved;
  uint64_t calls = 0;  // GEMM calls run (WorkerScratch::call)
  // Written by the caller at the start and end of every call: a line of
  // its own, away from what the slots read.
  alignas(64) std::atomic<bool> in_use{false};
};

namespace qgemm {

// Thread counts above this are clamped (qgemm_context_num_threads tells).
constexpr int kMaxThreads = 256;

// Creates a context with num_threads threads (0: all cores) on table.
// Returns null when out of memory.
qgemm_context* NewContext(int num_threads, const KernelTable* table);

// Creates a context whose loops run through parallel_for (not null) in at
// most num_threads (>= 1; clamped to kMaxThreads) slots; it starts no
// thread. Returns null when out of memory.
qgemm_context* NewExecutorContext(qgemm_parallel_for_fn parallel_for,
                                  void* executor_context, int num_threads,
                                  const KernelTable* table);

// Runs fn(state, item, owner, slot) for every item in [0, first[num_slots]):
// slot s owns items [first[s], first[s + 1]) and owner is the slot that
// owns `item`, slot the one running it (its scratch is workers[slot]).
// 1 <= num_slots <= ctx->num_threads; one slot runs on the calling thread
// alone (no pool, no executor). When kernel_hooks_of has thread hooks,
// every slot runs between its thread_begin and thread_end, on whichever
// thread runs the slot.
using SlotItemFn = void (*)(void* state, size_t item, int owner, int slot);
void ParallelForSlots(qgemm_context* ctx, int num_slots, const size_t* first,
                      SlotItemFn fn, void* state,
                      const KernelTable* kernel_hooks_of);

// Runs fn(state, task, worker) for task in [0, num_tasks) in
// min(num_tasks, max_slots, ctx->num_threads) slots of contiguous tasks;
// worker is the slot (its scratch is workers[worker]). Hooks as above.
void ParallelFor(qgemm_context* ctx, size_t num_tasks, ThreadPool::TaskFn fn,
                 void* state, const KernelTable* kernel_hooks_of,
                 size_t max_slots = static_cast<size_t>(kMaxThreads));

}  // namespace qgemm

#endif  // QGEMM_DISPATCH_CONTEXT_H_

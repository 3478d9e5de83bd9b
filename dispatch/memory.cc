#include "dispatch/memory.h"

#include <atomic>
#include <cstdlib>

namespace qgemm {
namespace {
std::atomic<int64_t> g_allocations_until_failure{-1};
std::atomic<uint64_t> g_allocation_count{0};
}  // namespace

void* AllocateAligned(size_t bytes) {
  g_allocation_count.fetch_add(1, std::memory_order_relaxed);
  int64_t left = g_allocations_until_failure.load(std::memory_order_relaxed);
  while (left >= 0) {
    if (g_allocations_until_failure.compare_exchange_weak(left, left - 1)) {
      if (left == 0) return nullptr;
      break;
    }
  }
  if (bytes == 0) bytes = 1;
  // Round up so that vector loads of a panel's last bytes stay inside.
  if (bytes > SIZE_MAX - kBufferAlignment) return nullptr;
  bytes = (bytes + kBufferAlignment - 1) / kBufferAlignment * kBufferAlignment;
  return std::aligned_alloc(kBufferAlignment, bytes);
}

void FreeAligned(void* p) { std::free(p); }

void FailAllocationAfterForTesting(int64_t successes) {
  g_allocations_until_failure.store(successes, std::memory_order_relaxed);
}

uint64_t AllocationCountForTesting() {
  return g_allocation_count.load(std::memory_order_relaxed);
}

bool ScratchBuffer::Reserve(size_t bytes) {
  if (bytes <= size_ && data_ != nullptr) return true;
  void* p = AllocateAligned(bytes);
  if (p == nullptr) return false;
  FreeAligned(data_);
  data_ = p;
  size_ = bytes;
  return true;
}

}  // namespace qgemm

// Aligned allocation that fails with a null pointer (never throws), with a
// test hook that makes the n-th allocation from now fail.
#ifndef QGEMM_DISPATCH_MEMORY_H_
#define QGEMM_DISPATCH_MEMORY_H_

#include <cstddef>
#include <cstdint>

namespace qgemm {

constexpr size_t kBufferAlignment = 64;

void* AllocateAligned(size_t bytes);  // null on failure; bytes 0 -> 1
void FreeAligned(void* p);

// Test-only: the allocation after `successes` more successful ones fails
// (once); a negative value turns the hook off.
void FailAllocationAfterForTesting(int64_t successes);

// Test-only: how many times AllocateAligned has been called in this process
// (successful or not), so tests can assert that a prepared call allocates
// nothing.
uint64_t AllocationCountForTesting();

// A grow-only buffer: Reserve keeps the old memory when it is large enough,
// so repeated calls with the same sizes do not allocate.
class ScratchBuffer {
 public:
  ScratchBuffer() = default;
  ~ScratchBuffer() { FreeAligned(data_); }
  ScratchBuffer(const ScratchBuffer&) = delete;
  ScratchBuffer& operator=(const ScratchBuffer&) = delete;
  ScratchBuffer(ScratchBuffer&& o) noexcept : data_(o.data_), size_(o.size_) {
    o.data_ = nullptr;
    o.size_ = 0;
  }

  bool Reserve(size_t bytes);  // false: out of memory (old contents kept)
  void* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  void* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace qgemm

#endif  // QGEMM_DISPATCH_MEMORY_H_

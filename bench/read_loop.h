// Plain read loops over a buffer: the memory ceiling a GEMV on packed
// weights races (read_loop_avx512.cc, compiled with -mavx512f;
// read_loop_avx2.cc, compiled with -mavx2; each called only on a CPU that
// has its instructions). Declaration-only header.
#ifndef QGEMM_BENCH_READ_LOOP_H_
#define QGEMM_BENCH_READ_LOOP_H_

#include <cstddef>
#include <cstdint>

namespace qgemm_bench {

// Reads bytes [0, size) of data once, front to back, with aligned vector
// loads into 8 independent accumulators (vpaddq: the loads cannot be
// dropped, and the adds are never the bottleneck), and returns a fold of
// them. data is 64-byte aligned and size a multiple of 512.
uint64_t ReadLoopAvx512(const uint8_t* data, size_t size);
uint64_t ReadLoopAvx2(const uint8_t* data, size_t size);

}  // namespace qgemm_bench

#endif  // QGEMM_BENCH_READ_LOOP_H_

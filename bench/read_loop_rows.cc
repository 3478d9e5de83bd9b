// The read-loop rows: for a GEMV shape (M <= 4), one plain read of as many
// bytes as its packed weights (N x K uint8; for the GEMV shapes N and K are
// whole panels and depth granules, so exactly the packed B's size), timed in
// the same run as the GEMMs. GOPs is the shape's 2*M*N*K over the loop's
// time: the rate a GEMV that reads its weights once and does nothing else
// would reach at this memory level (1x1024x1024's 1 MiB sits in L2,
// 1x4096x4096's 16 MiB streams from beyond it). GBs is the loop's read rate.
#include <cstdlib>
#include <cstring>
#include <memory>

#include "problem.h"

#if defined(QGEMM_BENCH_HAVE_READ_LOOP)
#include "read_loop.h"
#endif

namespace qgemm_bench {

#if defined(QGEMM_BENCH_HAVE_READ_LOOP)
namespace {

struct FreeDeleter {
  void operator()(uint8_t* p) const { std::free(p); }
};

void RunReadLoop(benchmark::State& state, const Shape& s, bool avx512) {
  const size_t bytes = (s.n * s.k + 511) / 512 * 512;
  std::unique_ptr<uint8_t, FreeDeleter> buffer(
      static_cast<uint8_t*>(std::aligned_alloc(64, bytes)));
  if (!buffer) {
    state.SkipWithError("out of memory");
    return;
  }
  // Written, so that every page is backed (never the shared zero page).
  for (size_t i = 0; i < bytes; ++i) {
    buffer.get()[i] = static_cast<uint8_t>(i * 131 + 7);
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(avx512 ? ReadLoopAvx512(buffer.get(), bytes)
                                    : ReadLoopAvx2(buffer.get(), bytes));
  }
  using benchmark::Counter;
  state.counters["GOPs"] =
      Counter(s.Ops() * 1e-9, Counter::kIsIterationInvariantRate);
  state.counters["GBs"] = Counter(static_cast<double>(bytes) * 1e-9,
                                  Counter::kIsIterationInvariantRate);
  state.SetLabel(std::string(avx512 ? "zmm" : "ymm") +
                 " loads, 8 accumulators, " + std::to_string(bytes >> 10) +
                 " KiB");
}

}  // namespace
#endif

void RegisterReadLoop(const Shape& s, Data d) {
#if defined(QGEMM_BENCH_HAVE_READ_LOOP)
  if (s.m > 4 || d != Data::kFull) return;  // the bytes are the same
  const bool avx512 = __builtin_cpu_supports("avx512f");
  if (!avx512 && !__builtin_cpu_supports("avx2")) return;
  benchmark::RegisterBenchmark(
      RowName("read_loop", d, s).c_str(),
      [s, avx512](benchmark::State& st) { RunReadLoop(st, s, avx512); })
      ->Apply(TimeRow);
#else
  (void)s;
  (void)d;
#endif
}

}  // namespace qgemm_bench

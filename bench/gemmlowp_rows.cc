// gemmlowp's rows: GemmWithOutputPipeline with qgemm's exact output stage
// (gemmlowp is where qgemm's numerics come from, so its bytes must match).
#include <vector>

#include "gemmlowp_call.h"
#include "problem.h"

namespace qgemm_bench {
namespace {

bool CpuHasAvx2() {
#if defined(__x86_64__) || defined(__i386__)
  return __builtin_cpu_supports("avx2");
#else
  return false;
#endif
}

void RunGemmlowp(benchmark::State& state, const Shape& s, Data d) {
  if (GemmlowpNeedsAvx2() && !CpuHasAvx2()) {
    state.SkipWithError(
        "skipped: built for gemmlowp's AVX2 kernel; this CPU lacks AVX2");
    return;
  }
  const Problem& p = GetProblem(s, d);
  GemmlowpRunner* r = GemmlowpCreate(BenchThreads());
  std::vector<uint8_t> c(s.m * s.n);
  auto run = [&] {
    GemmlowpRun(r, s.m, s.n, s.k, p.a.data(), p.za, p.b_nk.data(), p.zb,
                p.multiplier, p.shift, p.zc, c.data());
  };
  run();
  const Verdict v = CompareU8(p, c.data(), s.n);
  for (auto _ : state) {
    run();
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  SetGemmCounters(state, s, v);
  GemmlowpDestroy(r);
}

}  // namespace

void RegisterGemmlowp(const Shape& s, Data d) {
  if (d != Data::kFull) return;
  benchmark::RegisterBenchmark(
      RowName("gemmlowp", d, s).c_str(),
      [s, d](benchmark::State& st) { RunGemmlowp(st, s, d); })
      ->Apply(TimeRow);
}

}  // namespace qgemm_bench

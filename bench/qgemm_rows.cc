// qgemm's rows: every ISA this CPU and build run, with B packed once before
// timing (qgemm_pack_b, the [out][in] layout of a linear layer's weights)
// and unpacked (B k x n row-major, packed inside every call); and the best
// ISA, packed, through a pthreadpool executor
// (qgemm_context_create_with_executor), as an engine that owns its threads
// calls it. With --threads=N > 1, every SIMD ISA's packed row also gets a
// twin on one thread (qgemm_<isa>_packed_1thread, wall time like the rest),
// so that the scaling N threads / 1 is a ratio of two rows of one run (with
// --benchmark_enable_random_interleaving, interleaved), not of two runs on a
// machine whose load changes between them.
#if defined(QGEMM_BENCH_HAVE_PTHREADPOOL)
#include <pthreadpool.h>
#endif

#include <string>
#include <vector>

#include "problem.h"

namespace qgemm_bench {
namespace {

#if defined(QGEMM_BENCH_HAVE_PTHREADPOOL)
void PthreadpoolParallelFor(void* pool, qgemm_task_fn task, void* context,
                            size_t count) {
  pthreadpool_parallelize_1d(static_cast<pthreadpool_t>(pool), task, context,
                             count, 0);
}

// One pool for the whole run, like an engine's: BenchThreads() threads.
pthreadpool_t BenchPool() {
  static pthreadpool_t pool =
      pthreadpool_create(static_cast<size_t>(BenchThreads()));
  return pool;
}
#endif

void RunQgemm(benchmark::State& state, const Shape& s, Data d,
              const std::string& isa, bool packed, bool executor, int threads) {
  const Problem& p = GetProblem(s, d);
  qgemm_context* ctx = nullptr;
  qgemm_status created = QGEMM_UNSUPPORTED;
  if (!executor) {
    created = qgemm_context_create(threads, &ctx);
  } else {
#if defined(QGEMM_BENCH_HAVE_PTHREADPOOL)
    created = qgemm_context_create_with_executor(
        PthreadpoolParallelFor, BenchPool(), BenchThreads(), &ctx);
#endif
  }
  if (created != QGEMM_OK ||
      qgemm_context_set_isa(ctx, isa.c_str()) != QGEMM_OK) {
    state.SkipWithError(qgemm_last_error());
    qgemm_context_destroy(ctx);
    return;
  }
  qgemm_packed_b* pb = nullptr;
  if (packed && qgemm_pack_b(ctx, s.k, s.n, p.b_nk.data(), s.k, QGEMM_LAYOUT_NK,
                             p.zb, &pb) != QGEMM_OK) {
    state.SkipWithError(qgemm_last_error());
    qgemm_context_destroy(ctx);
    return;
  }
  const qgemm_requant rq = p.Requant();
  std::vector<uint8_t> c(s.m * s.n);
  auto run = [&] {
    return packed ? qgemm_u8u8_requant_packed(ctx, s.m, p.a.data(), s.k, p.za,
                                              pb, &rq, c.data(), s.n)
                  : qgemm_u8u8_requant(ctx, s.m, s.n, s.k, p.a.data(), s.k,
                                       p.za, p.b_kn.data(), s.n, p.zb, &rq,
                                       c.data(), s.n);
  };
  if (run() != QGEMM_OK) {
    state.SkipWithError(qgemm_last_error());
  } else {
    const Verdict v = CompareU8(p, c.data(), s.n);
    for (auto _ : state) {
      run();
      benchmark::DoNotOptimize(c.data());
      benchmark::ClobberMemory();
    }
    SetGemmCounters(state, s, v);
  }
  qgemm_packed_b_destroy(pb);
  qgemm_context_destroy(ctx);
}

}  // namespace

void RegisterQgemm(const Shape& s, Data d) {
  const char* names[16];
  const size_t count = qgemm_supported_isas(names, 16);
  // Narrow weights race oneDNN, where each SIMD ISA has a fast exact path;
  // the scalar kernel (last in the list) has none.
  const size_t isas = d == Data::kFull ? count : (count > 1 ? count - 1 : 0);
  for (size_t i = 0; i < isas && i < 16; ++i) {
    const std::string isa = names[i];
    for (bool packed : {true, false}) {
      const std::string lib = "qgemm_" + isa + (packed ? "_packed" : "");
      benchmark::RegisterBenchmark(RowName(lib, d, s).c_str(),
                                   [s, d, isa, packed](benchmark::State& st) {
                                     RunQgemm(st, s, d, isa, packed, false,
                                              BenchThreads());
                                   })
          ->Apply(TimeRow);
    }
    if (BenchThreads() > 1 && d == Data::kFull && i + 1 < count) {
      benchmark::RegisterBenchmark(
          RowName("qgemm_" + isa + "_packed_1thread", d, s).c_str(),
          [s, d, isa](benchmark::State& st) {
            RunQgemm(st, s, d, isa, true, false, 1);
          })
          ->Apply(TimeRow);
    }
  }
#if defined(QGEMM_BENCH_HAVE_PTHREADPOOL)
  if (d == Data::kFull && count > 0) {
    const std::string isa = names[0];
    benchmark::RegisterBenchmark(
        RowName("qgemm_" + isa + "_packed_pthreadpool", d, s).c_str(),
        [s, d, isa](benchmark::State& st) {
          RunQgemm(st, s, d, isa, true, true, BenchThreads());
        })
        ->Apply(TimeRow);
  }
#endif
}

}  // namespace qgemm_bench

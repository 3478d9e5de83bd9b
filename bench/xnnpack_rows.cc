// XNNPACK's rows: the qu8 fully-connected operator (uint8 x uint8, exact
// int32 accumulation, float requantization). Weights are packed when the
// operator is created, before timing; one run is xnn_run_operator.
#include <pthreadpool.h>
#include <xnnpack.h>

#include <vector>

#include "problem.h"

namespace qgemm_bench {
namespace {

void RunXnnpack(benchmark::State& state, const Shape& s, Data d) {
  static const bool initialized = xnn_initialize(nullptr) == xnn_status_success;
  if (!initialized) {
    state.SkipWithError("xnn_initialize failed (CPU not supported?)");
    return;
  }
  const Problem& p = GetProblem(s, d);
  // XNNPACK's requantization scale is input_scale * kernel_scale /
  // output_scale: with 1 and 1 it is exactly qgemm's float M.
  xnn_operator_t op = nullptr;
  if (xnn_create_fully_connected_nc_qu8(s.k, s.n, s.k, s.n, p.za,
                                        p.real_multiplier, p.zb, 1.0f,
                                        p.b_nk.data(), nullptr, p.zc, 1.0f, 0,
                                        255, 0, &op) != xnn_status_success) {
    state.SkipWithError("xnn_create_fully_connected_nc_qu8 failed");
    return;
  }
  pthreadpool_t pool =
      BenchThreads() > 1 ? pthreadpool_create(size_t(BenchThreads())) : nullptr;
  std::vector<uint8_t> c(s.m * s.n);
  if (xnn_setup_fully_connected_nc_qu8(op, s.m, p.a.data(), c.data(), pool) !=
          xnn_status_success ||
      xnn_run_operator(op, pool) != xnn_status_success) {
    state.SkipWithError("xnn_setup/run failed");
  } else {
    const Verdict v = CompareU8(p, c.data(), s.n);
    for (auto _ : state) {
      xnn_run_operator(op, pool);
      benchmark::DoNotOptimize(c.data());
      benchmark::ClobberMemory();
    }
    SetGemmCounters(state, s, v);
  }
  xnn_delete_operator(op);
  if (pool) pthreadpool_destroy(pool);
}

}  // namespace

void RegisterXnnpack(const Shape& s, Data d) {
  if (d != Data::kFull) return;
  benchmark::RegisterBenchmark(
      RowName("xnnpack_qu8", d, s).c_str(),
      [s, d](benchmark::State& st) { RunXnnpack(st, s, d); })
      ->Apply(TimeRow);
}

}  // namespace qgemm_bench

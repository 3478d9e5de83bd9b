// XNNPACK's rows: the qu8 fully-connected operator (uint8 x uint8, exact
// int32 accumulation, float requantization). Weights are packed when the
// operator is created, before timing; one run is xnn_run_operator.
#if defined(QGEMM_BENCH_HAVE_CPUINFO)
#include <cpuinfo.h>
#endif
#include <pthreadpool.h>
#include <xnnpack.h>

#include <string>
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
      BenchThreads() > 1
          ? pthreadpool_create(static_cast<size_t>(BenchThreads()))
          : nullptr;
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

bool CapXnnpackIsa(const std::string& isa) {
#if defined(QGEMM_BENCH_HAVE_CPUINFO) && \
    (defined(__x86_64__) || defined(__i386__))
  // XNNPACK picks its kernels in xnn_initialize from cpuinfo's global ISA
  // flags (cpuinfo_has_x86_avx512skx() etc. read cpuinfo_isa). Clearing the
  // AVX-512 flags before that leaves it its AVX2 kernels. This XNNPACK
  // (2022) has no AVX-VNNI kernels: under an avxvnni cap too, AVX2 is the
  // most it can use.
  if (isa == "avx512vnni") return true;  // it has nothing beyond AVX-512
  if ((isa != "avx2" && isa != "avxvnni") || !cpuinfo_initialize()) {
    return false;
  }
  cpuinfo_isa.avx512f = cpuinfo_isa.avx512pf = cpuinfo_isa.avx512er = false;
  cpuinfo_isa.avx512cd = cpuinfo_isa.avx512dq = cpuinfo_isa.avx512bw = false;
  cpuinfo_isa.avx512vl = cpuinfo_isa.avx512ifma = cpuinfo_isa.avx512vbmi =
      false;
  cpuinfo_isa.avx512vbmi2 = cpuinfo_isa.avx512bitalg = false;
  cpuinfo_isa.avx512vpopcntdq = cpuinfo_isa.avx512vnni = false;
  cpuinfo_isa.avx512bf16 = cpuinfo_isa.avx512vp2intersect = false;
  cpuinfo_isa.avx512_4vnniw = cpuinfo_isa.avx512_4fmaps = false;
  return true;
#else
  (void)isa;
  return false;
#endif
}

void RegisterXnnpack(const Shape& s, Data d) {
  if (d != Data::kFull) return;
  benchmark::RegisterBenchmark(
      RowName("xnnpack_qu8", d, s).c_str(),
      [s, d](benchmark::State& st) { RunXnnpack(st, s, d); })
      ->Apply(TimeRow);
}

}  // namespace qgemm_bench

// OpenBLAS's rows: fp32 sgemm on the same values (a - za and b - zb as
// floats), the float baseline an int8 GEMM has to beat. The result is
// compared with qgemm's int32 accumulators (integer-valued sums are exact in
// fp32 while every partial sum stays below 2^24).
#include <cblas.h>

#include <vector>

#include "problem.h"

namespace qgemm_bench {
namespace {

void RunSgemm(benchmark::State& state, const Shape& s, Data d) {
  const Problem& p = GetProblem(s, d);
  std::vector<float> a(p.a.size()), b(p.b_nk.size()), c(s.m * s.n);
  for (size_t i = 0; i < a.size(); ++i) {
    a[i] = static_cast<float>(static_cast<int>(p.a[i]) - p.za);
  }
  for (size_t i = 0; i < b.size(); ++i) {
    b[i] = static_cast<float>(static_cast<int>(p.b_nk[i]) - p.zb);
  }
  const int m = static_cast<int>(s.m), n = static_cast<int>(s.n),
            k = static_cast<int>(s.k);
  auto run = [&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f,
                a.data(), k, b.data(), k, 0.0f, c.data(), n);
  };
  run();
  const Verdict v = CompareF32(p, c.data(), s.n);
  for (auto _ : state) {
    run();
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  SetGemmCounters(state, s, v);
}

}  // namespace

void ConfigureOpenblasThreads(int n) { openblas_set_num_threads(n); }

void RegisterOpenblas(const Shape& s, Data d) {
  if (d != Data::kFull) return;
  benchmark::RegisterBenchmark(
      RowName("openblas_sgemm", d, s).c_str(),
      [s, d](benchmark::State& st) { RunSgemm(st, s, d); })
      ->Apply(TimeRow);
}

}  // namespace qgemm_bench

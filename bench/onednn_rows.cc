// oneDNN's rows: the matmul primitive (u8 source x s8 weights -> u8, output
// scale M, source and destination zero points; weights reordered into the
// primitive's preferred layout before timing) and dnnl_gemm_u8s8s32 (int32
// output). oneDNN's weights are int8: it gets b - 128 with weight zero point
// zb - 128 = 0. Its AVX2 u8 x s8 path (vpmaddubsw) saturates int16 on
// full-range data; on narrow weights (|b - 128| <= 64) it is exact.
#include <dlfcn.h>
#include <oneapi/dnnl/dnnl.h>

#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "problem.h"

namespace qgemm_bench {
namespace {

std::vector<int8_t> WeightsMinus128(const std::vector<uint8_t>& b) {
  std::vector<int8_t> w(b.size());
  for (size_t i = 0; i < b.size(); ++i) {
    w[i] = static_cast<int8_t>(static_cast<int>(b[i]) - 128);
  }
  return w;
}

void RunMatmul(benchmark::State& state, const Shape& s, Data d) {
  const Problem& p = GetProblem(s, d);
  using dnnl::memory;
  using dt = memory::data_type;
  using tag = memory::format_tag;
  try {
    dnnl::engine eng(dnnl::engine::kind::cpu, 0);
    dnnl::stream strm(eng);
    const memory::dim m = static_cast<memory::dim>(s.m),
                      n = static_cast<memory::dim>(s.n),
                      k = static_cast<memory::dim>(s.k);
    memory::desc a_md({m, k}, dt::u8, tag::ab);
    memory::desc b_user_md({k, n}, dt::s8, tag::ba);  // n x k row-major
    memory::desc b_any_md({k, n}, dt::s8, tag::any);
    memory::desc c_md({m, n}, dt::u8, tag::ab);
    dnnl::primitive_attr attr;
    attr.set_output_scales(0, {p.real_multiplier});
    attr.set_zero_points(DNNL_ARG_SRC, 0, {static_cast<int32_t>(p.za)});
    attr.set_zero_points(DNNL_ARG_DST, 0, {static_cast<int32_t>(p.zc)});
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, b_any_md, c_md),
                                    attr, eng);
    std::vector<int8_t> w = WeightsMinus128(p.b_nk);
    memory b_user(b_user_md, eng, w.data());
    memory b_mem(pd.weights_desc(), eng);
    dnnl::reorder(b_user, b_mem).execute(strm, b_user, b_mem);
    std::vector<uint8_t> c(s.m * s.n);
    memory a_mem(a_md, eng, const_cast<uint8_t*>(p.a.data()));
    memory c_mem(c_md, eng, c.data());
    dnnl::matmul prim(pd);
    const std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, a_mem},
                                                  {DNNL_ARG_WEIGHTS, b_mem},
                                                  {DNNL_ARG_DST, c_mem}};
    prim.execute(strm, args);
    strm.wait();
    const Verdict v = CompareU8(p, c.data(), s.n);
    for (auto _ : state) {
      prim.execute(strm, args);
      strm.wait();
      benchmark::ClobberMemory();
    }
    SetGemmCounters(state, s, v);
  } catch (const dnnl::error& e) {
    state.SkipWithError(e.what());
  }
}

void RunGemmU8S8S32(benchmark::State& state, const Shape& s, Data d) {
  const Problem& p = GetProblem(s, d);
  const std::vector<int8_t> w = WeightsMinus128(p.b_nk);  // n x k
  std::vector<int32_t> c(s.m * s.n);
  const int32_t c_offset = 0;
  auto run = [&] {
    // Row-major C = (A - za) (W^T - 0), W n x k row-major.
    return dnnl_gemm_u8s8s32('N', 'T', 'F', static_cast<dnnl_dim_t>(s.m),
                             static_cast<dnnl_dim_t>(s.n),
                             static_cast<dnnl_dim_t>(s.k), 1.0f, p.a.data(),
                             static_cast<dnnl_dim_t>(s.k), p.za, w.data(),
                             static_cast<dnnl_dim_t>(s.k), 0, 0.0f, c.data(),
                             static_cast<dnnl_dim_t>(s.n), &c_offset);
  };
  if (run() != dnnl_success) {
    state.SkipWithError("dnnl_gemm_u8s8s32 failed");
    return;
  }
  const Verdict v = CompareS32(p, c.data(), s.n);
  for (auto _ : state) {
    run();
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  SetGemmCounters(state, s, v);
}

}  // namespace

void ConfigureOnednnThreads(int n) {
  // Debian's oneDNN runs on OpenMP (libgomp, already loaded with it): set
  // the calling thread's team size without linking OpenMP ourselves.
  using SetFn = void (*)(int);
  if (auto set =
          reinterpret_cast<SetFn>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"))) {
    set(n);
  }
}

bool CapOnednnIsa(const std::string& isa) {
  // Must run before oneDNN's first primitive (it fixes its ISA then).
  // AVX2_VNNI is oneDNN's name for AVX2 with AVX-VNNI (its VEX VPDPBUSD
  // kernels, exact on full-range data like qgemm's avxvnni).
  dnnl_cpu_isa_t cap;
  if (isa == "avx2") {
    cap = dnnl_cpu_isa_avx2;
  } else if (isa == "avxvnni") {
    cap = dnnl_cpu_isa_avx2_vnni;
  } else if (isa == "avx512vnni") {
    cap = dnnl_cpu_isa_avx512_core_vnni;
  } else {
    return false;
  }
  return dnnl_set_max_cpu_isa(cap) == dnnl_success;
}

void RegisterOnednn(const Shape& s, Data d) {
  benchmark::RegisterBenchmark(
      RowName("onednn_matmul", d, s).c_str(),
      [s, d](benchmark::State& st) { RunMatmul(st, s, d); })
      ->Apply(TimeRow);
  benchmark::RegisterBenchmark(
      RowName("onednn_gemm_u8s8s32", d, s).c_str(),
      [s, d](benchmark::State& st) { RunGemmU8S8S32(st, s, d); })
      ->Apply(TimeRow);
}

}  // namespace qgemm_bench

// The peak rows: peak_exact_avx2 (the exact AVX2 path's ceiling),
// peak_u8s8_avx2 (the saturating u8 x s8 AVX2 path's ceiling) and, on a CPU
// with AVX-512 VNNI, peak_exact_avx512vnni, on one with AVX-VNNI,
// peak_exact_avxvnni, and where qgemm runs amx (AMX, and Linux granted
// the tile state), peak_exact_amx; measured in the same run as the GEMMs so
// that ratios to them are fair on a noisy machine.
#include <chrono>
#include <cstdio>
#include <cstring>

#include "problem.h"

#if defined(QGEMM_BENCH_HAVE_PEAK_AVX2)
#include "peak_avx2.h"
#endif

namespace qgemm_bench {

#if defined(QGEMM_BENCH_HAVE_PEAK_AVXVNNI) || defined(QGEMM_BENCH_HAVE_PEAK_AMX)
namespace {

// Whether qgemm runs an ISA here: for avxvnni, AVX-VNNI with the OS's AVX
// state (clang 14's __builtin_cpu_supports does not know "avxvnni"); for
// amx, AMX with the tile state, which Linux grants only on request (qgemm's
// enable hook asks, once per process).
bool QgemmRunsIsa(const char* isa) {
  const char* names[16];
  const size_t count = qgemm_supported_isas(names, 16);
  for (size_t i = 0; i < count && i < 16; ++i) {
    if (std::strcmp(names[i], isa) == 0) return true;
  }
  return false;
}

}  // namespace
#endif

void RegisterPeaks() {
#if defined(QGEMM_BENCH_HAVE_PEAK_AVX2)
  using benchmark::Counter;
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vnni")) {
    benchmark::RegisterBenchmark("peak_exact_avx512vnni", [](benchmark::State&
                                                                 st) {
      for (auto _ : st) benchmark::DoNotOptimize(PeakExactAvx512Vnni());
      st.counters["GOPs"] =
          Counter(static_cast<double>(kPeakVnniOpsPerCall) * 1e-9,
                  Counter::kIsIterationInvariantRate);
      st.SetLabel("vpdpbusd zmm, 16 accumulators, registers only");
    })->Apply(TimeRow);
  }
#if defined(QGEMM_BENCH_HAVE_PEAK_AMX)
  if (QgemmRunsIsa("amx")) {
    benchmark::RegisterBenchmark("peak_exact_amx", [](benchmark::State& st) {
      for (auto _ : st) benchmark::DoNotOptimize(PeakExactAmx());
      st.counters["GOPs"] =
          Counter(static_cast<double>(kPeakAmxOpsPerCall) * 1e-9,
                  Counter::kIsIterationInvariantRate);
      st.SetLabel("tdpbuud, 4 accumulator tiles, 2 A + 2 B, registers only");
    })->Apply(TimeRow);
  } else {
    qgemm_context* ctx = nullptr;
    if (qgemm_context_create(1, &ctx) == QGEMM_OK) {
      if (qgemm_context_set_isa(ctx, "amx") != QGEMM_OK) {
        std::fprintf(stderr, "qgemm_bench: no peak_exact_amx row: %s\n",
                     qgemm_last_error());
      }
      qgemm_context_destroy(ctx);
    }
  }
#endif
#if defined(QGEMM_BENCH_HAVE_PEAK_AVXVNNI)
  if (QgemmRunsIsa("avxvnni")) {
    benchmark::RegisterBenchmark("peak_exact_avxvnni", [](benchmark::State&
                                                              st) {
      for (auto _ : st) benchmark::DoNotOptimize(PeakExactAvxVnni());
      st.counters["GOPs"] =
          Counter(static_cast<double>(kPeakAvxVnniOpsPerCall) * 1e-9,
                  Counter::kIsIterationInvariantRate);
      st.SetLabel("{vex} vpdpbusd ymm, 12 accumulators, registers only");
    })->Apply(TimeRow);
  }
#endif
  if (!__builtin_cpu_supports("avx2")) return;
  benchmark::RegisterBenchmark("peak_exact_avx2", [](benchmark::State& st) {
    for (auto _ : st) benchmark::DoNotOptimize(PeakExactAvx2());
    st.counters["GOPs"] =
        Counter(static_cast<double>(kPeakExactOpsPerCall) * 1e-9,
                Counter::kIsIterationInvariantRate);
    st.SetLabel("vpmaddwd + vpaddd, 12 accumulators, registers only");
  })->Apply(TimeRow);
  benchmark::RegisterBenchmark("peak_u8s8_avx2", [](benchmark::State& st) {
    for (auto _ : st) benchmark::DoNotOptimize(PeakU8S8Avx2());
    st.counters["GOPs"] =
        Counter(static_cast<double>(kPeakU8S8OpsPerCall) * 1e-9,
                Counter::kIsIterationInvariantRate);
    st.SetLabel("vpmaddubsw + vpmaddwd + vpaddd, 10 accumulators (saturates)");
  })->Apply(TimeRow);
#endif
}

// Runs the widest peak loop this CPU has for `seconds` of wall time. The
// first rows of a run otherwise meet a core still raising its clock (seen on
// a 2-core Zen 5 VM: peak_exact_avx512vnni at 700-740 GOP/s as the first
// row of a run, 881 with a second of work before it), and the peak row,
// registered first, then reads lower than the GEMMs it is the ceiling of.
void WarmUpCpu(double seconds) {
  int32_t (*loop)() = nullptr;
#if defined(QGEMM_BENCH_HAVE_PEAK_AVX2)
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vnni")) {
    loop = PeakExactAvx512Vnni;
  } else if (__builtin_cpu_supports("avx2")) {
    loop = PeakExactAvx2;
  }
#endif
  using Clock = std::chrono::steady_clock;
  const auto end = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(seconds));
  int32_t sink = 0;
  while (Clock::now() < end) {
    if (loop != nullptr) sink += loop();
    benchmark::DoNotOptimize(sink);
  }
}

}  // namespace qgemm_bench

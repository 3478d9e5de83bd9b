// qgemm_bench: qgemm beside its peers on the shapes of docs/design.md, one
// process, one run, so that ratios are fair on a noisy machine.
//
//   qgemm_bench [--threads=N] [Google Benchmark flags]
//
// --threads=N (or QGEMM_BENCH_THREADS=N): threads for every library
// (default 1). Single-threaded rows are timed in the thread's CPU time (on a
// shared machine, time the core was taken away does not count); with
// --threads > 1 or --real_time, in wall-clock time.
//
// --peer_max_isa=avx2 (or QGEMM_BENCH_PEER_MAX_ISA=avx2): on a CPU with
// AVX-512, keeps oneDNN and XNNPACK (and OpenBLAS, when OPENBLAS_CORETYPE is
// set, as tools/qgemm-bench does) to their AVX2 kernels, for a race with
// qgemm's AVX2 kernels on equal terms. Their default is the best this CPU has.
// --peer_max_isa=avxvnni: the same, but oneDNN may use its AVX2_VNNI kernels
// (VEX VPDPBUSD), for a race with qgemm's avxvnni kernels; XNNPACK (no
// AVX-VNNI kernels) and OpenBLAS (fp32) stay at AVX2.
// --peer_max_isa=avx512vnni: oneDNN at AVX512_CORE_VNNI (no AMX, no
// AVX-512 BF16/FP16 paths), for a race with qgemm's avx512vnni kernels on a
// CPU that has more (a Xeon with AMX); XNNPACK and OpenBLAS have nothing
// beyond AVX-512 for this work and are left as they are.
//
// --shapes=engine (or QGEMM_BENCH_SHAPES=engine): the engine layers of
// problem.h (BERT-base, MobileNetV2 1x1 convolutions, LLM decode) instead
// of the default shapes; --shapes=gemv: GEMV at M = 1, 2, 4 (problem.h).
// Every shape with M <= 4 also gets a read_loop row: a plain read of its
// packed weights' bytes (read_loop_rows.cc).
//
// --warmup=S (default 0.5): seconds of the widest peak loop before the first
// row, so that the core's clock has settled when timing starts.
//
// Unless given, --benchmark_min_time=0.05 keeps a full run short; add
// --benchmark_repetitions=5 --benchmark_report_aggregates_only=true for
// medians (tools/qgemm-bench --repetitions 5 does).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "problem.h"

namespace qgemm_bench {
namespace {

std::string Join(const char* const* names, size_t count) {
  std::string s;
  for (size_t i = 0; i < count; ++i) {
    s += (i ? "," : "") + std::string(names[i]);
  }
  return s;
}

int ParseThreads(const char* text) {
  const int64_t n = std::strtoll(text, nullptr, 10);
  return n < 1 ? 1 : (n > 1024 ? 1024 : static_cast<int>(n));
}

}  // namespace

int Main(int argc, char** argv) {
  int threads = 1;
  if (const char* env = std::getenv("QGEMM_BENCH_THREADS")) {
    threads = ParseThreads(env);
  }
  bool real_time = false;
  std::string peer_max_isa;
  if (const char* env = std::getenv("QGEMM_BENCH_PEER_MAX_ISA")) {
    peer_max_isa = env;
  }
  std::string shape_set = "default";
  if (const char* env = std::getenv("QGEMM_BENCH_SHAPES")) shape_set = env;
  double warmup_seconds = 0.5;
  bool listing = false;
  std::vector<char*> args;
  static char default_min_time[] = "--benchmark_min_time=0.05";
  args.push_back(argv[0]);
  args.push_back(default_min_time);  // later flags override it
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--threads=", 10) == 0) {
      threads = ParseThreads(argv[i] + 10);
      continue;
    }
    if (std::strcmp(argv[i], "--real_time") == 0) {
      real_time = true;
      continue;
    }
    if (std::strncmp(argv[i], "--peer_max_isa=", 15) == 0) {
      peer_max_isa = argv[i] + 15;
      continue;
    }
    if (std::strncmp(argv[i], "--shapes=", 9) == 0) {
      shape_set = argv[i] + 9;
      continue;
    }
    if (std::strncmp(argv[i], "--warmup=", 9) == 0) {
      warmup_seconds = std::atof(argv[i] + 9);
      continue;
    }
    if (std::strncmp(argv[i], "--benchmark_list_tests", 22) == 0) {
      listing = std::strcmp(argv[i], "--benchmark_list_tests=false") != 0;
    }
    args.push_back(argv[i]);
  }
  SetBenchThreads(threads);
  real_time = real_time || BenchThreads() > 1;
  SetRealTimeRows(real_time);

  if (!peer_max_isa.empty() && peer_max_isa != "avx2" &&
      peer_max_isa != "avxvnni" && peer_max_isa != "avx512vnni") {
    std::fprintf(stderr,
                 "qgemm_bench: --peer_max_isa=%s: only avx2, avxvnni and "
                 "avx512vnni are known\n",
                 peer_max_isa.c_str());
    return 1;
  }
  std::string capped;  // the peers --peer_max_isa reached

  const char* isas[16];
  const size_t n_isas = qgemm_supported_isas(isas, 16);
  std::string peers;
#if defined(QGEMM_BENCH_HAVE_GEMMLOWP)
  peers += "gemmlowp ";
#endif
#if defined(QGEMM_BENCH_HAVE_XNNPACK)
  peers += "xnnpack ";
  if (!peer_max_isa.empty()) {
    if (CapXnnpackIsa(peer_max_isa)) {
      capped += "xnnpack ";
    } else {
      std::fprintf(stderr,
                   "qgemm_bench: XNNPACK cannot be capped in this build "
                   "(needs cpuinfo.h: libcpuinfo-dev)\n");
    }
  }
#endif
#if defined(QGEMM_BENCH_HAVE_ONEDNN)
  peers += "onednn ";
  ConfigureOnednnThreads(BenchThreads());
  if (!peer_max_isa.empty() && CapOnednnIsa(peer_max_isa)) capped += "onednn ";
#endif
#if defined(QGEMM_BENCH_HAVE_OPENBLAS)
  peers += "openblas ";
  ConfigureOpenblasThreads(BenchThreads());
  // OpenBLAS picks its kernels when it is loaded: only the environment
  // (OPENBLAS_CORETYPE=Haswell, which tools/qgemm-bench sets) caps it.
  if (!peer_max_isa.empty() && std::getenv("OPENBLAS_CORETYPE")) {
    capped +=
        std::string("openblas(") + std::getenv("OPENBLAS_CORETYPE") + ") ";
  }
#endif
  if (!peer_max_isa.empty()) {
    benchmark::AddCustomContext("peer_max_isa", peer_max_isa + ": " + capped);
  }
  benchmark::AddCustomContext("qgemm_threads", std::to_string(BenchThreads()));
  benchmark::AddCustomContext("qgemm_timing",
                              real_time ? "real time" : "thread CPU time");
  benchmark::AddCustomContext("qgemm_isas",
                              Join(isas, n_isas < 16 ? n_isas : 16));
  benchmark::AddCustomContext("qgemm_default_isa", qgemm_context_isa(nullptr));
  benchmark::AddCustomContext("qgemm_peers", peers.empty() ? "none" : peers);

  if (shape_set != "default" && shape_set != "engine" && shape_set != "gemv") {
    std::fprintf(stderr,
                 "qgemm_bench: --shapes=%s: only default, engine and gemv "
                 "are known\n",
                 shape_set.c_str());
    return 1;
  }
  const std::vector<Shape>& shapes = shape_set == "engine" ? EngineShapes()
                                     : shape_set == "gemv" ? GemvShapes()
                                                           : BenchShapes();
  std::string models;
  for (const Shape& s : shapes) {
    if (s.model[0] != '\0') models += s.Name() + "=" + s.model + ";";
  }
  if (!models.empty()) benchmark::AddCustomContext("shape_models", models);

  RegisterPeaks();
  for (const Shape& s : shapes) {
    for (Data d : {Data::kFull, Data::kNarrow}) {
      RegisterQgemm(s, d);
      RegisterReadLoop(s, d);
#if defined(QGEMM_BENCH_HAVE_GEMMLOWP)
      RegisterGemmlowp(s, d);
#endif
#if defined(QGEMM_BENCH_HAVE_XNNPACK)
      RegisterXnnpack(s, d);
#endif
#if defined(QGEMM_BENCH_HAVE_ONEDNN)
      RegisterOnednn(s, d);
#endif
#if defined(QGEMM_BENCH_HAVE_OPENBLAS)
      RegisterOpenblas(s, d);
#endif
    }
  }

  int args_count = static_cast<int>(args.size());
  benchmark::Initialize(&args_count, args.data());
  if (benchmark::ReportUnrecognizedArguments(args_count, args.data())) return 1;
  if (!listing && warmup_seconds > 0) WarmUpCpu(warmup_seconds);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace qgemm_bench

int main(int argc, char** argv) { return qgemm_bench::Main(argc, argv); }

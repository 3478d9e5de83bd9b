// What every row of qgemm_bench shares: the shapes, the inputs of one shape
// (built once, identical for every library), qgemm's answer for them, and the
// comparison of a peer's output with that answer.
//
// Numerics of the inputs (the same for every library):
//   A: m x k uint8, uniform over [0, 255], zero point za = 127
//   B: k x n uint8, zero point zb = 128; "full": uniform over [0, 255];
//      "narrow": every |b - 128| <= 64 (trained weights usually are)
//   C: m x n uint8 = clamp(128 + requant(sum (a - za)(b - zb)), 0, 255),
//      no bias, per-tensor multiplier M chosen so that C spreads over the
//      uint8 range (standard deviation ~40), and M is a float, so peers that
//      requantize in float (XNNPACK, oneDNN) are handed exactly the same M.
// zb = 128 lets a u8 x s8 library (oneDNN) take b - 128 as its int8 weights
// with weight zero point 0.
#ifndef QGEMM_BENCH_PROBLEM_H_
#define QGEMM_BENCH_PROBLEM_H_

#include <benchmark/benchmark.h>
#include <qgemm/qgemm.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace qgemm_bench {

struct Shape {
  size_t m, n, k;
  const char* model = "";    // the layer it is, for the engine set
  std::string Name() const;  // "MxNxK"
  double Ops() const { return 2.0 * double(m) * double(n) * double(k); }
};

// docs/design.md, "How speed is measured": GEMV, cubes, MobileNet/ResNet
// convolutions as GEMM, BERT-base, an LLM projection.
const std::vector<Shape>& BenchShapes();

// --shapes=gemv: GEMV on packed weights at M = 1, 2, 4, in L2 (N = K =
// 1024) and beyond it (N = K = 4096), beside the read loop of their bytes.
const std::vector<Shape>& GemvShapes();

// --shapes=engine: the layers an inference engine runs, each named: a
// BERT-base encoder layer, MobileNetV2's 1x1 convolutions as GEMMs, LLM
// decode projections (batch 1).
const std::vector<Shape>& EngineShapes();

enum class Data { kFull, kNarrow };
const char* DataName(Data d);  // "full", "narrow"

struct Problem {
  Shape shape;
  Data data;
  uint8_t za = 127, zb = 128, zc = 128;
  float real_multiplier = 0;  // M, exactly M0 * 2^(shift - 31)
  int32_t multiplier = 0;     // M0
  int32_t shift = 0;
  std::vector<uint8_t> a;     // m x k row-major
  std::vector<uint8_t> b_kn;  // k x n row-major
  std::vector<uint8_t> b_nk;  // n x k row-major (the [out][in] weights)
  // qgemm's answer (default ISA, packed B): the uint8 output and the int32
  // accumulators sum (a - za)(b - zb). The library's tests prove qgemm
  // against an int64 reference; here it is the yardstick for peers.
  std::vector<uint8_t> c_ref;
  std::vector<int32_t> acc_ref;

  qgemm_requant Requant() const;
};

// The problem of one shape and data mode, built on first use. Only the most
// recent one is kept (rows are registered shape by shape), so memory stays
// at one shape's worth.
const Problem& GetProblem(const Shape& shape, Data data);

// A peer's output against qgemm's, computed once per row before timing.
struct Verdict {
  bool exact = false;        // every output is a correct rounding of the
                             // exact result (see CompareU8)
  bool bytes_equal = false;  // identical to qgemm's output
  size_t n_diff = 0;         // outputs that differ from qgemm's
  double max_diff = 0;       // largest |peer - qgemm|
  size_t n_outputs = 0;
  std::string note;  // e.g. "int32 output"
};

// uint8 output. Exact: |peer - clamp(zc + M * acc)| < 1 for every output,
// i.e. the peer accumulated exactly and only its rounding mode may differ
// (float requantization rounds ties to even, gemmlowp's fixed point rounds
// twice); a saturating int16 shortcut shows up as errors of many units.
Verdict CompareU8(const Problem& p, const uint8_t* c, size_t ldc);
// int32 accumulators (bias-free): exact means equal.
Verdict CompareS32(const Problem& p, const int32_t* c, size_t ldc);
// fp32 result of the same sum (integer-valued): exact means equal.
Verdict CompareF32(const Problem& p, const float* c, size_t ldc);

// Counters every GEMM row carries: GOPs (2*M*N*K per second / 1e9, over real
// time), exact, bytes_equal, n_diff, max_diff, and a label summarizing them.
void SetGemmCounters(benchmark::State& state, const Shape& shape,
                     const Verdict& v);

// Name of a row: "<library>/<data>/<M>x<N>x<K>".
std::string RowName(const std::string& library, Data data, const Shape& s);

// Applies the timing rules to a row: thread CPU time when every library runs
// on the calling thread alone (single thread: the default, and robust on a
// shared machine where other processes take the core away), real time when
// --threads > 1 or --real_time; microseconds.
void TimeRow(benchmark::internal::Benchmark* b);
void SetRealTimeRows(bool on);

// Threads for every library (1 unless --threads=N / QGEMM_BENCH_THREADS).
int BenchThreads();
void SetBenchThreads(int n);

// Registration entry points, one per source file (compiled out with their
// peer). Each registers its rows for one shape and data mode, in order.
void RegisterQgemm(const Shape& s, Data d);
void RegisterGemmlowp(const Shape& s, Data d);
void RegisterXnnpack(const Shape& s, Data d);
void RegisterOnednn(const Shape& s, Data d);
void RegisterOpenblas(const Shape& s, Data d);
void RegisterPeaks();
// Keeps the core busy for `seconds` before the first row (see peak_rows.cc).
void WarmUpCpu(double seconds);
// A plain read of the packed weights' bytes, for shapes with M <= 4.
void RegisterReadLoop(const Shape& s, Data d);
// Libraries that need process-wide thread settings (OpenMP, OpenBLAS).
void ConfigureOnednnThreads(int n);
void ConfigureOpenblasThreads(int n);
// Caps the instruction set a peer may use ("avx2", or "avxvnni": AVX2 plus
// the VEX VPDPBUSD, where the peer has kernels for it), so that it races
// qgemm's kernels of that ISA on equal terms on a CPU that has more
// (AVX-512). Must run before the peer's first use. False if the peer cannot
// be capped.
bool CapOnednnIsa(const std::string& isa);
bool CapXnnpackIsa(const std::string& isa);

}  // namespace qgemm_bench

#endif  // QGEMM_BENCH_PROBLEM_H_

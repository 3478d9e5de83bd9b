#include "problem.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>

namespace qgemm_bench {

std::string Shape::Name() const {
  return std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k);
}

const std::vector<Shape>& BenchShapes() {
  static const std::vector<Shape> shapes = {
      {1, 1024, 1024},    {1, 4096, 4096},  // GEMV (batch-1 linear layers)
      {64, 64, 64},       {128, 128, 128},  {256, 256, 256}, {512, 512, 512},
      {1024, 1024, 1024}, {196, 512, 4608},  // ResNet-50 conv5 3x3 as GEMM
      {3136, 64, 576},                       // ResNet-50 conv2 3x3 as GEMM
      {384, 768, 768},    {384, 3072, 768},  // BERT-base, sequence 384
      {128, 4096, 4096},                     // LLM projection, 128 tokens
  };
  return shapes;
}

const std::vector<Shape>& GemvShapes() {
  static const std::vector<Shape> shapes = {
      {1, 1024, 1024}, {2, 1024, 1024}, {4, 1024, 1024},
      {1, 4096, 4096}, {2, 4096, 4096}, {4, 4096, 4096},
  };
  return shapes;
}

const std::vector<Shape>& EngineShapes() {
  // M x N x K as the GEMM sees them: a 1x1 convolution over an H x W map is
  // M = H*W, N = output channels, K = input channels (MobileNetV2 at 224,
  // Sandler et al. 2018, Table 2; block numbers count its 17 bottlenecks).
  static const std::vector<Shape> shapes = {
      {384, 768, 768, "BERT-base QKV/output projection (seq 384)"},
      {384, 3072, 768, "BERT-base FFN up (seq 384)"},
      {384, 768, 3072, "BERT-base FFN down (seq 384)"},
      {12544, 16, 32, "MobileNetV2 block 1 project 32->16 @112x112"},
      {3136, 144, 24, "MobileNetV2 block 3 expand 24->144 @56x56"},
      {784, 192, 32, "MobileNetV2 block 4 expand 32->192 @28x28"},
      {196, 576, 96, "MobileNetV2 block 11 expand 96->576 @14x14"},
      {49, 1280, 320, "MobileNetV2 last 1x1 conv 320->1280 @7x7"},
      {1, 4096, 4096, "LLM decode attention projection (7B)"},
      {1, 11008, 4096, "LLM decode FFN up/gate (7B)"},
      {1, 4096, 11008, "LLM decode FFN down (7B)"},
  };
  return shapes;
}

const char* DataName(Data d) { return d == Data::kFull ? "full" : "narrow"; }

std::string RowName(const std::string& library, Data data, const Shape& s) {
  return library + "/" + DataName(data) + "/" + s.Name();
}

namespace {

int g_threads = 1;

[[noreturn]] void Die(const char* what, qgemm_status st) {
  std::fprintf(stderr, "qgemm_bench: %s: %s (%s)\n", what,
               qgemm_status_string(st), qgemm_last_error());
  std::exit(1);
}

void FillUniform(std::mt19937_64& rng, std::vector<uint8_t>& v, int lo,
                 int count) {
  // count consecutive values lo .. lo + count - 1, count <= 256.
  for (auto& x : v) {
    x = static_cast<uint8_t>(
        lo + static_cast<int>(rng() % static_cast<unsigned>(count)));
  }
}

std::unique_ptr<Problem> BuildProblem(const Shape& s, Data d) {
  auto p = std::make_unique<Problem>();
  p->shape = s;
  p->data = d;
  std::mt19937_64 rng(
      0x9e3779b97f4a7c15ull ^
      (s.m * 1000003u + s.n * 1009u + s.k + (d == Data::kFull ? 0 : 7)));
  p->a.resize(s.m * s.k);
  FillUniform(rng, p->a, 0, 256);
  p->b_nk.resize(s.n * s.k);
  if (d == Data::kFull) {
    FillUniform(rng, p->b_nk, 0, 256);
  } else {
    FillUniform(rng, p->b_nk, 128 - 64, 129);
  }
  p->b_kn.resize(s.k * s.n);
  for (size_t j = 0; j < s.n; ++j) {
    for (size_t kk = 0; kk < s.k; ++kk) {
      p->b_kn[kk * s.n + j] = p->b_nk[j * s.k + kk];
    }
  }

  // Standard deviations of the uniform data around the zero points; pick M
  // so that the output has a standard deviation of ~40 around zc.
  const double sd_a = std::sqrt((256.0 * 256.0 - 1) / 12);
  const double sd_b =
      d == Data::kFull ? sd_a : std::sqrt((129.0 * 129.0 - 1) / 12);
  const float m_real = static_cast<float>(
      40.0 / (sd_a * sd_b * std::sqrt(static_cast<double>(s.k))));
  qgemm_status st = qgemm_quantize_multiplier(static_cast<double>(m_real),
                                              &p->multiplier, &p->shift);
  if (st != QGEMM_OK) Die("qgemm_quantize_multiplier", st);
  // A float's 24-bit mantissa fits M0's 31 bits: both forms are the same M.
  if (std::ldexp(static_cast<double>(p->multiplier), p->shift - 31) !=
      static_cast<double>(m_real)) {
    std::fprintf(stderr, "qgemm_bench: multiplier %.9g not exact in Q31\n",
                 static_cast<double>(m_real));
    std::exit(1);
  }
  p->real_multiplier = m_real;

  qgemm_context* ctx = nullptr;
  st = qgemm_context_create(BenchThreads(), &ctx);
  if (st != QGEMM_OK) Die("qgemm_context_create", st);
  qgemm_packed_b* packed = nullptr;
  st = qgemm_pack_b(ctx, s.k, s.n, p->b_nk.data(), s.k, QGEMM_LAYOUT_NK, p->zb,
                    &packed);
  if (st != QGEMM_OK) Die("qgemm_pack_b", st);
  p->c_ref.assign(s.m * s.n, 0);
  const qgemm_requant rq = p->Requant();
  st = qgemm_u8u8_requant_packed(ctx, s.m, p->a.data(), s.k, p->za, packed, &rq,
                                 p->c_ref.data(), s.n);
  if (st != QGEMM_OK) Die("qgemm_u8u8_requant_packed", st);
  p->acc_ref.assign(s.m * s.n, 0);
  st = qgemm_u8u8_s32_packed(ctx, s.m, p->a.data(), s.k, p->za, packed, nullptr,
                             p->acc_ref.data(), s.n);
  if (st != QGEMM_OK) Die("qgemm_u8u8_s32_packed", st);
  qgemm_packed_b_destroy(packed);
  qgemm_context_destroy(ctx);
  return p;
}

std::string Percent(size_t part, size_t whole) {
  char buf[32];
  std::snprintf(
      buf, sizeof buf, "%.3g%%",
      whole ? 100.0 * static_cast<double>(part) / static_cast<double>(whole)
            : 0.0);
  return buf;
}

}  // namespace

qgemm_requant Problem::Requant() const {
  qgemm_requant rq{};
  rq.bias = nullptr;
  rq.multiplier = &multiplier;
  rq.shift = &shift;
  rq.per_channel = 0;
  rq.c_zero_point = zc;
  rq.c_min = 0;
  rq.c_max = 255;
  return rq;
}

const Problem& GetProblem(const Shape& shape, Data data) {
  static std::unique_ptr<Problem> current;
  if (!current || current->data != data || current->shape.m != shape.m ||
      current->shape.n != shape.n || current->shape.k != shape.k) {
    current.reset();  // free the previous shape first
    current = BuildProblem(shape, data);
  }
  return *current;
}

Verdict CompareU8(const Problem& p, const uint8_t* c, size_t ldc) {
  Verdict v;
  v.exact = true;
  const Shape& s = p.shape;
  v.n_outputs = s.m * s.n;
  for (size_t i = 0; i < s.m; ++i) {
    for (size_t j = 0; j < s.n; ++j) {
      const int got = c[i * ldc + j];
      const int ref = p.c_ref[i * s.n + j];
      if (got != ref) {
        ++v.n_diff;
        v.max_diff =
            std::max(v.max_diff, static_cast<double>(std::abs(got - ref)));
      }
      double real = static_cast<double>(p.zc) +
                    static_cast<double>(p.real_multiplier) *
                        static_cast<double>(p.acc_ref[i * s.n + j]);
      real = std::min(255.0, std::max(0.0, real));
      if (std::fabs(static_cast<double>(got) - real) >= 1.0) v.exact = false;
    }
  }
  v.bytes_equal = v.n_diff == 0;
  return v;
}

Verdict CompareS32(const Problem& p, const int32_t* c, size_t ldc) {
  Verdict v;
  const Shape& s = p.shape;
  v.n_outputs = s.m * s.n;
  for (size_t i = 0; i < s.m; ++i) {
    for (size_t j = 0; j < s.n; ++j) {
      const int64_t d =
          static_cast<int64_t>(c[i * ldc + j]) - p.acc_ref[i * s.n + j];
      if (d != 0) {
        ++v.n_diff;
        v.max_diff = std::max(v.max_diff, static_cast<double>(d < 0 ? -d : d));
      }
    }
  }
  v.exact = v.bytes_equal = v.n_diff == 0;
  v.note = "int32 output";
  return v;
}

Verdict CompareF32(const Problem& p, const float* c, size_t ldc) {
  Verdict v;
  const Shape& s = p.shape;
  v.n_outputs = s.m * s.n;
  for (size_t i = 0; i < s.m; ++i) {
    for (size_t j = 0; j < s.n; ++j) {
      const double d = static_cast<double>(c[i * ldc + j]) -
                       static_cast<double>(p.acc_ref[i * s.n + j]);
      if (d != 0) {
        ++v.n_diff;
        v.max_diff = std::max(v.max_diff, std::fabs(d));
      }
    }
  }
  v.exact = v.bytes_equal = v.n_diff == 0;
  v.note = "fp32 output";
  return v;
}

void SetGemmCounters(benchmark::State& state, const Shape& shape,
                     const Verdict& v) {
  using benchmark::Counter;
  state.counters["GOPs"] =
      Counter(shape.Ops() * 1e-9, Counter::kIsIterationInvariantRate);
  state.counters["exact"] = v.exact ? 1 : 0;
  state.counters["bytes_equal"] = v.bytes_equal ? 1 : 0;
  state.counters["n_diff"] = static_cast<double>(v.n_diff);
  state.counters["max_diff"] = v.max_diff;
  std::string label = v.exact ? "exact" : "INEXACT";
  if (v.bytes_equal) {
    label += v.note.empty() ? ", bytes equal" : "";
  } else {
    char buf[64];
    std::snprintf(buf, sizeof buf, " max|diff| %g", v.max_diff);
    label += ": " + Percent(v.n_diff, v.n_outputs) + " differ," + buf;
  }
  if (!v.note.empty()) label += " (" + v.note + ")";
  state.SetLabel(label);
}

namespace {
bool g_real_time = false;
}  // namespace

void SetRealTimeRows(bool on) { g_real_time = on; }

void TimeRow(benchmark::internal::Benchmark* b) {
  if (g_real_time || g_threads > 1) b->UseRealTime();
  b->Unit(benchmark::kMicrosecond);
}

int BenchThreads() { return g_threads; }
void SetBenchThreads(int n) { g_threads = n < 1 ? 1 : n; }

}  // namespace qgemm_bench

// gemmlowp (Debian libgemmlowp-dev) as an independent oracle of the whole
// pipeline: offsets, bias, OutputStageScaleInt32ByFixedPointAndExponent(PC),
// clamp, saturating cast. gemmlowp's left shift wraps where qgemm's
// saturates, so the cases keep acc << shift inside int32, where the two agree
// (docs/design.md, "Output stage").
#include <gemmlowp/public/gemmlowp.h>
#include <gtest/gtest.h>
#include <qgemm/qgemm.h>

#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace {

struct OracleCase {
  int m, n, k;
  uint8_t za, zb;
  int32_t c_zero_point;
  uint8_t c_min, c_max;
  bool per_channel;
  int shift;  // per tensor; per channel draws around it
};

std::vector<uint8_t> GemmlowpGemm(const OracleCase& oc,
                                  const std::vector<uint8_t>& a,
                                  const std::vector<uint8_t>& b,
                                  const std::vector<int32_t>& bias,
                                  const std::vector<int32_t>& mult,
                                  const std::vector<int32_t>& shift) {
  gemmlowp::GemmContext context;
  context.set_max_num_threads(1);
  gemmlowp::MatrixMap<const uint8_t, gemmlowp::MapOrder::RowMajor> lhs(
      a.data(), oc.m, oc.k, oc.k);
  gemmlowp::MatrixMap<const uint8_t, gemmlowp::MapOrder::RowMajor> rhs(
      b.data(), oc.k, oc.n, oc.n);
  std::vector<uint8_t> c(static_cast<size_t>(oc.m * oc.n));
  gemmlowp::MatrixMap<uint8_t, gemmlowp::MapOrder::RowMajor> result(
      c.data(), oc.m, oc.n, oc.n);
  using RowVector =
      gemmlowp::VectorMap<const int32_t, gemmlowp::VectorShape::Row>;
  gemmlowp::OutputStageBiasAddition<RowVector> bias_stage;
  bias_stage.bias_vector = RowVector(bias.data(), oc.n);
  gemmlowp::OutputStageClamp clamp_stage;
  clamp_stage.min = oc.c_min;
  clamp_stage.max = oc.c_max;
  gemmlowp::OutputStageSaturatingCastToUint8 cast_stage;
  if (oc.per_channel) {
    gemmlowp::OutputStageScaleInt32ByFixedPointAndExponentPC<
        gemmlowp::VectorShape::Row>
        scale;
    scale.result_fixedpoint_multiplier = RowVector(mult.data(), oc.n);
    scale.result_exponent = RowVector(shift.data(), oc.n);
    scale.result_offset_after_shift = oc.c_zero_point;
    gemmlowp::GemmWithOutputPipeline<uint8_t, uint8_t,
                                     gemmlowp::DefaultL8R8BitDepthParams>(
        &context, lhs, rhs, &result, -oc.za, -oc.zb,
        std::make_tuple(bias_stage, scale, clamp_stage, cast_stage));
  } else {
    gemmlowp::OutputStageScaleInt32ByFixedPointAndExponent scale;
    scale.result_fixedpoint_multiplier = mult[0];
    scale.result_exponent = shift[0];
    scale.result_offset_after_shift = oc.c_zero_point;
    gemmlowp::GemmWithOutputPipeline<uint8_t, uint8_t,
                                     gemmlowp::DefaultL8R8BitDepthParams>(
        &context, lhs, rhs, &result, -oc.za, -oc.zb,
        std::make_tuple(bias_stage, scale, clamp_stage, cast_stage));
  }
  return c;
}

std::vector<OracleCase> Cases() {
  std::vector<OracleCase> out;
  const int dims[][3] = {{1, 1, 1},    {3, 5, 7},     {8, 8, 8},
                         {17, 33, 65}, {64, 31, 300}, {5, 100, 1000},
                         {1, 64, 4608}};
  int i = 0;
  for (const auto& d : dims) {
    for (bool pc : {false, true}) {
      const uint8_t zps[] = {0, 128, 255, 1, 77};
      out.push_back({d[0], d[1], d[2], zps[i % 5], zps[(i + 2) % 5],
                     (i * 37) % 256, static_cast<uint8_t>(i % 3 == 0 ? 0 : 10),
                     static_cast<uint8_t>(i % 3 == 0 ? 255 : 240), pc,
                     -(8 + i % 10)});
      ++i;
    }
  }
  // A positive exponent where acc << shift stays in int32.
  out.push_back({9, 13, 3, 128, 128, 128, 0, 255, false, 2});
  out.push_back({9, 13, 3, 100, 3, 128, 0, 255, true, 1});
  return out;
}

TEST(GemmlowpOracleTest, EverySupportedIsaMatchesGemmlowp) {
  const size_t n_isas = qgemm_supported_isas(nullptr, 0);
  std::vector<const char*> isas(n_isas);
  qgemm_supported_isas(isas.data(), n_isas);
  std::mt19937 rng(2024);
  std::uniform_int_distribution<int> byte(0, 255);
  for (const OracleCase& oc : Cases()) {
    std::vector<uint8_t> a(static_cast<size_t>(oc.m * oc.k));
    std::vector<uint8_t> b(static_cast<size_t>(oc.k * oc.n));
    for (auto& x : a) x = static_cast<uint8_t>(byte(rng));
    for (auto& x : b) x = static_cast<uint8_t>(byte(rng));
    std::vector<int32_t> bias(static_cast<size_t>(oc.n));
    std::uniform_int_distribution<int32_t> bias_dist(-50000, 50000);
    for (auto& x : bias) x = bias_dist(rng);
    const size_t q = oc.per_channel ? static_cast<size_t>(oc.n) : 1;
    std::vector<int32_t> mult(q), shift(q);
    std::uniform_int_distribution<int32_t> mult_dist(1 << 30, INT32_MAX);
    for (size_t j = 0; j < q; ++j) {
      mult[j] = mult_dist(rng);
      shift[j] = oc.shift - static_cast<int>(j % 3);
      if (oc.shift > 0) shift[j] = oc.shift;
    }
    const std::vector<uint8_t> want = GemmlowpGemm(oc, a, b, bias, mult, shift);
    qgemm_requant rq;
    rq.bias = bias.data();
    rq.multiplier = mult.data();
    rq.shift = shift.data();
    rq.per_channel = oc.per_channel ? 1 : 0;
    rq.c_zero_point = oc.c_zero_point;
    rq.c_min = oc.c_min;
    rq.c_max = oc.c_max;
    for (const char* isa : isas) {
      qgemm_context* ctx = nullptr;
      ASSERT_EQ(qgemm_context_create(1, &ctx), QGEMM_OK);
      ASSERT_EQ(qgemm_context_set_isa(ctx, isa), QGEMM_OK);
      std::vector<uint8_t> got(want.size(), 0);
      ASSERT_EQ(qgemm_u8u8_requant(ctx, static_cast<size_t>(oc.m),
                                   static_cast<size_t>(oc.n),
                                   static_cast<size_t>(oc.k), a.data(),
                                   static_cast<size_t>(oc.k), oc.za, b.data(),
                                   static_cast<size_t>(oc.n), oc.zb, &rq,
                                   got.data(), static_cast<size_t>(oc.n)),
                QGEMM_OK);
      EXPECT_EQ(got, want) << isa << " " << oc.m << "x" << oc.n << "x" << oc.k
                           << (oc.per_channel ? " per-channel" : "");
      qgemm_context_destroy(ctx);
    }
  }
}

}  // namespace

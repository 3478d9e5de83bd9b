// The C++ API from an installed qgemm: RAII wrappers, a packed [out][in]
// weight, the output stage from real scales, and the quantization helpers.
#include <cstdio>
#include <qgemm/qgemm.hpp>
#include <qgemm/quantization.hpp>
#include <vector>

int main() {
  const size_t m = 2, n = 3, k = 4;
  std::vector<uint8_t> a(m * k, 130), w(n * k, 120), c(m * n);
  qgemm::Context ctx = qgemm::Context::create(2);
  const qgemm::PackedB b =
      qgemm::PackedB::pack(ctx, {w.data(), n, k}, qgemm::Layout::kNK, 128);
  // acc = 4 * (130 - 128) * (120 - 128) = -64; M = 1/16: -4 + 128 = 124.
  const auto rq = qgemm::RequantParams::from_real_multiplier(0.0625, 128);
  qgemm::gemm_requant(ctx, {a.data(), m, k}, 128, b, rq, {c.data(), m, n});
  const qgemm::QuantParams p = qgemm::choose_quant_params(-1.0f, 1.0f);
  const float x[5] = {-1.0f, 0.0f, 0.5f, 1.0f, 2.0f};
  uint8_t q[5];
  qgemm::quantize(x, 5, p, q);
  for (uint8_t v : c) {
    if (v != 124) return std::printf("C++ consumer: C = %d, want 124\n", v), 1;
  }
  if (p.zero_point != 128 || q[1] != 128 || q[4] != 255) {
    return std::printf("C++ consumer: quantization helpers disagree\n"), 1;
  }
  std::printf("C++ consumer OK (%s)\n", ctx.isa().c_str());
  return 0;
}

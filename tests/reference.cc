#include "reference.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace qgemm_test {

int32_t RefSaturatingRoundingDoublingHighMul(int32_t a, int32_t b) {
  const int64_t kMin = std::numeric_limits<int32_t>::min();
  if (a == kMin && b == kMin) return std::numeric_limits<int32_t>::max();
  const int64_t ab = static_cast<int64_t>(a) * static_cast<int64_t>(b);
  const int64_t nudge = ab >= 0 ? (int64_t{1} << 30) : (1 - (int64_t{1} << 30));
  return static_cast<int32_t>((ab + nudge) / (int64_t{1} << 31));
}

int32_t RefRoundingDivideByPOT(int32_t x, int exponent) {
  // round(x / 2^e), ties away from zero, in exact int64 arithmetic.
  if (exponent == 0) return x;
  const int64_t d = int64_t{1} << exponent;
  const int64_t v = x;
  const int64_t mag = v < 0 ? -v : v;
  const int64_t q = (mag + d / 2) / d;  // half rounds away from zero
  return static_cast<int32_t>(v < 0 ? -q : q);
}

uint8_t RefRequantize(int32_t acc, int32_t multiplier, int32_t shift,
                      int32_t c_zero_point, uint8_t c_min, uint8_t c_max) {
  int64_t x = acc;
  if (shift > 0) {
    x *= int64_t{1} << shift;
    x = std::clamp<int64_t>(x, std::numeric_limits<int32_t>::min(),
                            std::numeric_limits<int32_t>::max());
  }
  int32_t y =
      RefSaturatingRoundingDoublingHighMul(static_cast<int32_t>(x), multiplier);
  y = RefRoundingDivideByPOT(y, shift < 0 ? -shift : 0);
  const int64_t out =
      std::clamp<int64_t>(int64_t{y} + c_zero_point, c_min, c_max);
  return static_cast<uint8_t>(out);
}

void RefGemmS32(size_t m, size_t n, size_t k, const uint8_t* a, size_t lda,
                uint8_t za, const uint8_t* b, size_t ldb, bool b_nk, uint8_t zb,
                const int32_t* bias, int32_t* c, size_t ldc) {
  for (size_t i = 0; i < m; ++i) {
    for (size_t j = 0; j < n; ++j) {
      int64_t sum = bias ? bias[j] : 0;
      for (size_t p = 0; p < k; ++p) {
        const int64_t bv = b_nk ? b[j * ldb + p] : b[p * ldb + j];
        sum += (int64_t{a[i * lda + p]} - za) * (bv - zb);
      }
      // Two's-complement wrap to int32 (docs/design.md: the sum wraps).
      c[i * ldc + j] = static_cast<int32_t>(
          static_cast<uint32_t>(static_cast<uint64_t>(sum) & 0xFFFFFFFFu));
    }
  }
}

void RefGemmRequant(size_t m, size_t n, size_t k, const uint8_t* a, size_t lda,
                    uint8_t za, const uint8_t* b, size_t ldb, bool b_nk,
                    uint8_t zb, const RefRequantParams& rq, uint8_t* c,
                    size_t ldc) {
  std::vector<int32_t> acc(m * n);
  RefGemmS32(m, n, k, a, lda, za, b, ldb, b_nk, zb,
             rq.bias.empty() ? nullptr : rq.bias.data(), acc.data(), n);
  for (size_t i = 0; i < m; ++i) {
    for (size_t j = 0; j < n; ++j) {
      const size_t q = rq.per_channel ? j : 0;
      c[i * ldc + j] =
          RefRequantize(acc[i * n + j], rq.multiplier[q], rq.shift[q],
                        rq.c_zero_point, rq.c_min, rq.c_max);
    }
  }
}

void RefGemmF32(size_t m, size_t n, size_t k, const uint8_t* a, size_t lda,
                uint8_t za, const uint8_t* b, size_t ldb, bool b_nk, uint8_t zb,
                const RefDequantParams& dq, float* c, size_t ldc) {
  std::vector<int32_t> acc(m * n);
  RefGemmS32(m, n, k, a, lda, za, b, ldb, b_nk, zb, nullptr, acc.data(), n);
  for (size_t i = 0; i < m; ++i) {
    for (size_t j = 0; j < n; ++j) {
      const float scale = dq.a_scale * dq.b_scale[dq.per_channel ? j : 0];
      const float bias = dq.bias.empty() ? 0.0f : dq.bias[j];
      c[i * ldc + j] =
          std::fmaf(static_cast<float>(acc[i * n + j]), scale, bias);
    }
  }
}

bool SameFloat(float got, float want) {
  if (std::isnan(got) && std::isnan(want)) return true;
  return std::memcmp(&got, &want, sizeof got) == 0;
}

}  // namespace qgemm_test

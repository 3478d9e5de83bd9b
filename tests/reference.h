// The oracle: docs/design.md's numerics as plain int64 loops, written apart
// from the library (no shared code), so that a bug in one is not in the other.
#ifndef QGEMM_TESTS_REFERENCE_H_
#define QGEMM_TESTS_REFERENCE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace qgemm_test {

int32_t RefSaturatingRoundingDoublingHighMul(int32_t a, int32_t b);
int32_t RefRoundingDivideByPOT(int32_t x, int exponent);
// One value through the whole output stage.
uint8_t RefRequantize(int32_t acc, int32_t multiplier, int32_t shift,
                      int32_t c_zero_point, uint8_t c_min, uint8_t c_max);

struct RefRequantParams {
  std::vector<int32_t> bias;               // empty: none
  std::vector<int32_t> multiplier, shift;  // 1 entry or n
  bool per_channel = false;
  int32_t c_zero_point = 0;
  uint8_t c_min = 0, c_max = 255;
};

// acc[i][j] = sum (a - za)(b - zb) + bias[j] in int64, wrapped to int32.
// b_nk: B is n x k row-major.
void RefGemmS32(size_t m, size_t n, size_t k, const uint8_t* a, size_t lda,
                uint8_t za, const uint8_t* b, size_t ldb, bool b_nk, uint8_t zb,
                const int32_t* bias, int32_t* c, size_t ldc);

void RefGemmRequant(size_t m, size_t n, size_t k, const uint8_t* a, size_t lda,
                    uint8_t za, const uint8_t* b, size_t ldb, bool b_nk,
                    uint8_t zb, const RefRequantParams& rq, uint8_t* c,
                    size_t ldc);

struct RefDequantParams {
  float a_scale = 1.0f;
  std::vector<float> b_scale;  // 1 entry or n
  bool per_channel = false;
  std::vector<float> bias;  // empty: none
};

// The float output: acc as RefGemmS32 without bias (int64 sum wrapped to
// int32), then C = fmaf((float) acc, a_scale * b_scale[j], bias[j]).
void RefGemmF32(size_t m, size_t n, size_t k, const uint8_t* a, size_t lda,
                uint8_t za, const uint8_t* b, size_t ldb, bool b_nk, uint8_t zb,
                const RefDequantParams& dq, float* c, size_t ldc);

// Two floats of C agree: the same bits (so -0.0 != +0.0), or both NaN (a
// NaN's sign and payload are the hardware's: x86 makes -NaN, ARM +NaN).
bool SameFloat(float got, float want);

}  // namespace qgemm_test

#endif  // QGEMM_TESTS_REFERENCE_H_

// The scalar output stage: docs/design.md's numerics, one value at a time.
//
// Included by kernels only (dispatch/ never includes kernel headers), and
// only by translation units built with the baseline flags: its functions are
// inline with external linkage, so a copy compiled with an ISA's flags could
// be the one the linker keeps (docs/design.md, "Building per-ISA code"). SIMD
// kernels write their own vector versions, checked against the independent
// int64 reference in tests/.
#ifndef QGEMM_KERNELS_SCALAR_OUTPUT_STAGE_H_
#define QGEMM_KERNELS_SCALAR_OUTPUT_STAGE_H_

#include <cmath>
#include <cstdint>
#include <limits>

namespace qgemm {
namespace scalar {

// Two's-complement wrap-around add without signed-overflow UB.
inline int32_t WrappingAdd(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) +
                              static_cast<uint32_t>(b));
}

inline int32_t WrappingMul(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) *
                              static_cast<uint32_t>(b));
}

// x * 2^s saturated to int32, 0 <= s <= 30.
inline int32_t SaturatingShiftLeft(int32_t x, int32_t s) {
  const int64_t y = static_cast<int64_t>(x) * (int64_t{1} << s);
  if (y > std::numeric_limits<int32_t>::max()) {
    return std::numeric_limits<int32_t>::max();
  }
  if (y < std::numeric_limits<int32_t>::min()) {
    return std::numeric_limits<int32_t>::min();
  }
  return static_cast<int32_t>(y);
}

// gemmlowp's SaturatingRoundingDoublingHighMul, written as defined; the
// INT32_MIN * INT32_MIN case cannot occur in qgemm (the API guarantees
// M0 >= 0).
inline int32_t SaturatingRoundingDoublingHighMul(int32_t a, int32_t b) {
  if (a == b && a == std::numeric_limits<int32_t>::min()) {
    return std::numeric_limits<int32_t>::max();
  }
  const int64_t p = static_cast<int64_t>(a) * b;
  const int64_t nudge = p >= 0 ? (int64_t{1} << 30) : 1 - (int64_t{1} << 30);
  return static_cast<int32_t>((p + nudge) / (int64_t{1} << 31));
}

// gemmlowp's RoundingDivideByPOT, 0 <= e <= 31.
inline int32_t RoundingDivideByPOT(int32_t x, int32_t e) {
  const int32_t mask = static_cast<int32_t>((uint32_t{1} << e) - 1);
  const int32_t rem = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> e) + (rem > threshold ? 1 : 0);
}

inline uint8_t Requantize(int32_t acc, int32_t multiplier, int32_t left_shift,
                          int32_t right_shift, int32_t c_zero_point,
                          int32_t c_min, int32_t c_max) {
  int32_t x = SaturatingShiftLeft(acc, left_shift);
  x = SaturatingRoundingDoublingHighMul(x, multiplier);
  x = RoundingDivideByPOT(x, right_shift);
  // Clamping before adding the zero point keeps the add exact (no wrap):
  // clamp(x + z, lo, hi) == clamp(x, lo - z, hi - z) + z.
  int32_t y = x;
  if (y < c_min - c_zero_point) y = c_min - c_zero_point;
  if (y > c_max - c_zero_point) y = c_max - c_zero_point;
  return static_cast<uint8_t>(y + c_zero_point);
}

// The float output (docs/design.md, "Additions"): the int32 sum converted
// to float (round to nearest even) and one fused multiply-add. std::fmaf
// rounds once whether the compiler emits an FMA instruction or calls libm
// (x86-64 baseline and armv7 without VFPv4 have none: glibc's fmaf is
// exact in software).
inline float Dequantize(int32_t acc, float scale, float bias) {
  return std::fmaf(static_cast<float>(acc), scale, bias);
}

}  // namespace scalar
}  // namespace qgemm

#endif  // QGEMM_KERNELS_SCALAR_OUTPUT_STAGE_H_

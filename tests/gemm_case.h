// One GEMM problem with its buffers laid out like a hostile caller's: rows
// padded with sentinel bytes between lda/ldb/ldc and the row length, and a
// guard region after C, so a kernel that reads or writes out of place is
// caught. RunCase() runs it through the C API and compares with the
// reference byte for byte.
#ifndef QGEMM_TESTS_GEMM_CASE_H_
#define QGEMM_TESTS_GEMM_CASE_H_

#include <qgemm/qgemm.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace qgemm_test {

enum class Data {
  kRandom,    // uniform bytes
  kExtremes,  // 0 and 255 only
  // A all 255, B all 0: with za = 0 and zb = 255, as the cases use it, every
  // product (a - za)(b - zb) is -255 * 255, the most negative one.
  kMax,
  kNarrowB,     // |b - 128| <= 64: the "trained weights" range
  kPairEdgeB,   // B pairs with |b0-128| + |b1-128| in 127..129
  kPairLimitB,  // B pairs with |b0-128| + |b1-128| in 127..128 (never above)
};

enum class Call {
  kRequant,    // qgemm_u8u8_requant
  kS32,        // qgemm_u8u8_s32
  kPackedKN,   // qgemm_pack_b (KN) + qgemm_u8u8_requant_packed
  kPackedNK,   // qgemm_pack_b (NK) + qgemm_u8u8_requant_packed
  kPackedS32,  // qgemm_pack_b (NK) + qgemm_u8u8_s32_packed
  kF32,        // qgemm_u8u8_f32
  kPackedF32,  // qgemm_pack_b (KN) + qgemm_u8u8_f32_packed
};

// The float output's scales of a case (per_channel picks the b_scale form).
enum class Scales {
  kTypical,   // a_scale, b_scale as given; per channel: b_scale * [1/4, 4]
  kTiny,      // FLT_MIN times scales below 1: s[j] subnormal or 0
  kOverflow,  // products that overflow to inf (0 * inf gives NaN)
  kMixed,     // per channel: FLT_MIN, FLT_MAX, 1 and others side by side
};

struct GemmCase {
  size_t m = 1, n = 1, k = 1;
  size_t lda_pad = 0, ldb_pad = 0, ldc_pad = 0;
  uint8_t za = 0, zb = 0;
  Data a_data = Data::kRandom, b_data = Data::kRandom;
  bool bias = true;
  int32_t bias_scale = 1 << 20;  // bias in [-scale, scale]
  bool per_channel = false;
  int32_t multiplier = 1 << 30;  // per tensor (per channel: random around)
  int32_t shift = -8;
  int32_t c_zero_point = 128;
  uint8_t c_min = 0, c_max = 255;
  // Float output (Call::kF32, kPackedF32); bias is random in
  // [-bias_f_scale, bias_f_scale] when bias is set.
  float a_scale = 0.0173f, b_scale = 0.00457f;
  Scales scales = Scales::kTypical;
  float bias_f_scale = 40.0f;
  uint32_t seed = 1;

  std::string Name() const;
};

// The math B (k x n) of a case as stored: k x n row-major, or n x k when
// nk. Pair data (kPairEdgeB, kPairLimitB) is placed on the depth pairs
// (kk, kk+1), kk even, of each column, whatever the layout.
std::vector<uint8_t> MakeB(Data d, size_t k, size_t n, bool nk,
                           std::mt19937& rng);

// Runs one case with ctx (may be NULL) and call kind; returns "" on
// success or a description of the first mismatch.
std::string RunCase(qgemm_context* ctx, const GemmCase& gc, Call call);

// A list of adversarial and random cases around a tile of mr x nr, kr.
std::vector<GemmCase> AdversarialCases(size_t mr, size_t nr, size_t kr);

}  // namespace qgemm_test

#endif  // QGEMM_TESTS_GEMM_CASE_H_

// Register-only multiply-accumulate loops that measure this core's ceiling
// (peak_avx2.cc, compiled with -mavx2; peak_avx512vnni.cc, compiled with
// -mavx512f -mavx512bw -mavx512vnni; peak_avxvnni.cc, compiled with
// -mavxvnni; peak_amx.cc, compiled with -mamx-tile -mamx-int8).
// Declaration-only header.
#ifndef QGEMM_BENCH_PEAK_AVX2_H_
#define QGEMM_BENCH_PEAK_AVX2_H_

#include <cstdint>

namespace qgemm_bench {

// Ops (2 per multiply-accumulate) one call performs.
constexpr uint64_t kPeakExactOpsPerCall = 4096ull * 12 * 16 * 2;
constexpr uint64_t kPeakU8S8OpsPerCall = 4096ull * 10 * 32 * 2;
constexpr uint64_t kPeakVnniOpsPerCall = 4096ull * 16 * 64 * 2;
constexpr uint64_t kPeakAvxVnniOpsPerCall = 4096ull * 12 * 32 * 2;
// AMX: steps of 4 TDPBUUD, each 16 x 16 elements x 64 products.
constexpr int kPeakAmxSteps = 1024;
constexpr uint64_t kPeakAmxOpsPerCall =
    uint64_t{kPeakAmxSteps} * 4 * 16 * 16 * 64 * 2;

// 4096 steps of 12 independent vpmaddwd + vpaddd (int16 x int16 pairs
// summed into int32: the exact path for uint8 data widened to int16).
int32_t PeakExactAvx2();
// 4096 steps of 10 independent vpmaddubsw + vpmaddwd(ones) + vpaddd (u8 x s8
// pairs summed into int16 with saturation: the fast, inexact path).
int32_t PeakU8S8Avx2();
// 4096 steps of 16 independent vpdpbusd on zmm (u8 x s8, 4 products summed
// straight into int32, no saturation: exact for uint8 x (uint8 - 128)).
int32_t PeakExactAvx512Vnni();
// 4096 steps of 12 independent VEX vpdpbusd on ymm (AVX-VNNI: the same
// exact u8 x s8 sums, 8 lanes).
int32_t PeakExactAvxVnni();
// kPeakAmxSteps steps of 4 independent TDPBUUD (C tiles 0..3 += A tiles
// 4, 5 x B tiles 6, 7), configured and released inside (peak_amx.cc,
// -mamx-tile -mamx-int8).
int32_t PeakExactAmx();

}  // namespace qgemm_bench

#endif  // QGEMM_BENCH_PEAK_AVX2_H_

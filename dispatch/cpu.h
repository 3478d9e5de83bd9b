// What this CPU can run, as cpu_features reports it (with the OS state
// checks it does on x86), and a test-only way to pretend features away.
#ifndef QGEMM_DISPATCH_CPU_H_
#define QGEMM_DISPATCH_CPU_H_

#include <cstdint>

namespace qgemm {

struct CpuFeatures {
  // Fixed-size strings keep the struct trivially copyable: dispatch copies
  // it on every NULL-context call, which must not allocate.
  char arch[16] = "";    // "x86-64", "aarch64", "arm", "other"
  char vendor[16] = "";  // e.g. "AuthenticAMD"; empty when unknown
  char model[64] = "";   // brand string or implementer/part
  bool avx2 = false, fma = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false,
       avx512vnni = false;
  bool neon = false, asimddp = false, i8mm = false;
};

// Bits for HideCpuFeaturesForTesting.
enum CpuFeatureBit : uint32_t {
  kFeatureAvx2 = 1u << 0,    // hides AVX2 and FMA
  kFeatureAvx512 = 1u << 1,  // hides F, BW, VL, DQ
  kFeatureAvx512Vnni = 1u << 2,
  kFeatureNeon = 1u << 3,
  kFeatureAsimdDp = 1u << 4,
  kFeatureI8mm = 1u << 5,
};

// The CPU as detected once per process (thread-safe).
const CpuFeatures& DetectedCpu();
// The detected CPU less the hidden features: what dispatch decides on.
CpuFeatures EffectiveCpu();
// Test-only: make dispatch believe the CPU lacks these features (0 undoes).
void HideCpuFeaturesForTesting(uint32_t mask);

}  // namespace qgemm

#endif  // QGEMM_DISPATCH_CPU_H_

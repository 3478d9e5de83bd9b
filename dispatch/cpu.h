// What this CPU can run, as cpu_features reports it (with the OS state
// checks it does on x86), and a test-only way to pretend features away.
#ifndef QGEMM_DISPATCH_CPU_H_
#define QGEMM_DISPATCH_CPU_H_

#include <cstddef>
#include <cstdint>

namespace qgemm {

// One bit per CPU feature dispatch decides on. The ISA registry
// (dispatch/isa_registry.def) names, per ISA, the bits that must all be set.
enum CpuFeature : uint32_t {
  kAvx2 = 1u << 0,
  kFma = 1u << 1,
  kAvx512F = 1u << 2,
  kAvx512BW = 1u << 3,
  kAvx512DQ = 1u << 4,
  kAvx512VL = 1u << 5,
  kAvx512Vnni = 1u << 6,
  kAvxVnni = 1u << 7,  // VEX-encoded VPDPBUSD (CPUID 7.1 EAX bit 4)
  kAmxTile = 1u << 8,
  kAmxInt8 = 1u << 9,
  kNeon = 1u << 10,
  kAsimdDp = 1u << 11,  // UDOT/SDOT (FEAT_DotProd)
  kI8mm = 1u << 12,     // UMMLA/SMMLA (FEAT_I8MM)
  // CPUID leaf 0x1D lists tile palette 1 with 8 tiles of 16 x 64 bytes, and
  // XCR0 has the tile state on (bits 17, 18): some hypervisors advertise
  // AMX-TILE with palette 0 only.
  kAmxPalette1 = 1u << 13,
};

// Every feature with the name qgemm-info prints for it, in bit order.
struct CpuFeatureName {
  CpuFeature bit;
  const char* name;
};
const CpuFeatureName* CpuFeatureNames(size_t* count);

struct CpuFeatures {
  // Fixed-size strings keep the struct trivially copyable: dispatch copies
  // it on every NULL-context call, which must not allocate.
  char arch[16] = "";    // "x86-64", "aarch64", "arm", "other"
  char vendor[16] = "";  // e.g. "AuthenticAMD"; empty when unknown
  char model[64] = "";   // brand string or implementer/part
  uint32_t bits = 0;     // CpuFeature bits

  // Whether every feature of mask is present.
  bool Has(uint32_t mask) const { return (bits & mask) == mask; }
};

// The CPU as detected once per process (thread-safe).
const CpuFeatures& DetectedCpu();
// The detected CPU, plus the added and less the hidden features (test-only
// hooks below): what dispatch decides on.
CpuFeatures EffectiveCpu();
// Test-only: make dispatch believe the CPU lacks these CpuFeature bits
// (0 undoes).
void HideCpuFeaturesForTesting(uint32_t mask);
// Test-only: make dispatch believe the CPU also has these bits (0 undoes;
// hidden bits stay hidden). For the test runs that carry out the native
// AMX object's tile instructions in a SIGILL handler on CPUs without AMX
// (tests/emulated/amx_trap.h); nothing else may set it.
void AddCpuFeaturesForTesting(uint32_t mask);

}  // namespace qgemm

#endif  // QGEMM_DISPATCH_CPU_H_

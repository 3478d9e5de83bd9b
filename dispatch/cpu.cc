#include "dispatch/cpu.h"

#include <atomic>
#include <cstdio>

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#include <cpuinfo_x86.h>
#elif defined(__aarch64__)
#include <cpuinfo_aarch64.h>
#include <fcntl.h>
#include <unistd.h>
#elif defined(__arm__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

namespace qgemm {
namespace {

std::atomic<uint32_t> g_hidden_features{0};
std::atomic<uint32_t> g_added_features{0};

#if defined(__x86_64__) || defined(_M_X64)
// The tiles the AMX kernels configure (8 of 16 rows x 64 bytes, palette 1)
// exist, and the OS saves them (XCR0 bits 17 XTILECFG and 18 XTILEDATA).
bool HasTilePalette1() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid_max(0, nullptr) < 0x1D) return false;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || (ecx & (1u << 27)) == 0) {
    return false;  // no OSXSAVE: XGETBV would fault
  }
  uint32_t xcr0_lo = 0, xcr0_hi = 0;
  asm volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
  if ((xcr0_lo & (3u << 17)) != (3u << 17)) return false;
  __cpuid_count(0x1D, 0, eax, ebx, ecx, edx);
  if (eax < 1) return false;  // the highest palette: 0 means none usable
  __cpuid_count(0x1D, 1, eax, ebx, ecx, edx);
  const unsigned bytes_per_tile = eax >> 16, bytes_per_row = ebx & 0xFFFF;
  const unsigned max_names = ebx >> 16, max_rows = ecx & 0xFFFF;
  return bytes_per_tile >= 1024 && bytes_per_row >= 64 && max_names >= 8 &&
         max_rows >= 16;
}
#endif

CpuFeatures Detect() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(_M_X64)
  const cpu_features::X86Info info = cpu_features::GetX86Info();
  std::snprintf(f.arch, sizeof f.arch, "x86-64");
  std::snprintf(f.vendor, sizeof f.vendor, "%s", info.vendor);
  std::snprintf(f.model, sizeof f.model, "%s", info.brand_string);
  // Fields are signed 1-bit bitfields: a set flag reads -1, so test != 0.
  // cpu_features clears the AVX and AVX-512 flags when the OS does not save
  // their registers (XCR0), and the AMX ones when it does not save tiles.
  const auto& x = info.features;
  const struct {
    bool on;
    CpuFeature bit;
  } flags[] = {
      {x.avx2 != 0, kAvx2},
      {x.fma3 != 0, kFma},
      {x.avx512f != 0, kAvx512F},
      {x.avx512bw != 0, kAvx512BW},
      {x.avx512dq != 0, kAvx512DQ},
      {x.avx512vl != 0, kAvx512VL},
      {x.avx512vnni != 0, kAvx512Vnni},
      {x.amx_tile != 0, kAmxTile},
      {x.amx_int8 != 0, kAmxInt8},
  };
  for (const auto& flag : flags) {
    if (flag.on) f.bits |= flag.bit;
  }
  // AVX-VNNI: cpu_features 0.7.0 has no field. CPUID leaf 7 subleaf 1 EAX
  // bit 4; its registers are YMM, whose OS state the AVX2 flag already
  // vouches for.
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if ((f.bits & kAvx2) != 0 &&
      __get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx) &&
      (eax & (1u << 4)) != 0) {
    f.bits |= kAvxVnni;
  }
  if ((f.bits & kAmxTile) != 0 && HasTilePalette1()) f.bits |= kAmxPalette1;
#elif defined(__aarch64__)
  // Debian's cpu_features prints a debug line to stdout when AT_HWCAP2 is 0;
  // keep it out of machine-readable output.
  std::fflush(stdout);
  const int saved = dup(1);
  const int devnull = open("/dev/null", O_WRONLY);
  if (saved >= 0 && devnull >= 0) dup2(devnull, 1);
  const cpu_features::Aarch64Info info = cpu_features::GetAarch64Info();
  std::fflush(stdout);
  if (saved >= 0) {
    dup2(saved, 1);
    close(saved);
  }
  if (devnull >= 0) close(devnull);
  std::snprintf(f.arch, sizeof f.arch, "aarch64");
  std::snprintf(f.model, sizeof f.model, "implementer 0x%02x part 0x%03x",
                info.implementer, info.part);
  if (info.features.asimd != 0) f.bits |= kNeon;
  if (info.features.asimddp != 0) f.bits |= kAsimdDp;
  if (info.features.i8mm != 0) f.bits |= kI8mm;
#elif defined(__arm__)
  // cpu_features has no armhf build in Debian; HWCAP_NEON from the kernel.
  std::snprintf(f.arch, sizeof f.arch, "arm");
  if ((getauxval(AT_HWCAP) & HWCAP_NEON) != 0) f.bits |= kNeon;
#else
  std::snprintf(f.arch, sizeof f.arch, "other");
#endif
  return f;
}

constexpr CpuFeatureName kFeatureNames[] = {
    {kAvx2, "avx2"},
    {kFma, "fma"},
    {kAvx512F, "avx512f"},
    {kAvx512BW, "avx512bw"},
    {kAvx512DQ, "avx512dq"},
    {kAvx512VL, "avx512vl"},
    {kAvx512Vnni, "avx512vnni"},
    {kAvxVnni, "avxvnni"},
    {kAmxTile, "amx_tile"},
    {kAmxInt8, "amx_int8"},
    {kNeon, "neon"},
    {kAsimdDp, "asimddp"},
    {kI8mm, "i8mm"},
    {kAmxPalette1, "amx_palette1"},
};

}  // namespace

const CpuFeatureName* CpuFeatureNames(size_t* count) {
  *count = sizeof(kFeatureNames) / sizeof(kFeatureNames[0]);
  return kFeatureNames;
}

const CpuFeatures& DetectedCpu() {
  static const CpuFeatures detected = Detect();
  return detected;
}

CpuFeatures EffectiveCpu() {
  CpuFeatures f = DetectedCpu();
  f.bits |= g_added_features.load(std::memory_order_relaxed);
  f.bits &= ~g_hidden_features.load(std::memory_order_relaxed);
  return f;
}

void HideCpuFeaturesForTesting(uint32_t mask) {
  g_hidden_features.store(mask, std::memory_order_relaxed);
}

void AddCpuFeaturesForTesting(uint32_t mask) {
  g_added_features.store(mask, std::memory_order_relaxed);
}

}  // namespace qgemm

#include "dispatch/cpu.h"

#include <atomic>
#include <cstdio>

#if defined(__x86_64__) || defined(_M_X64)
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

CpuFeatures Detect() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(_M_X64)
  const cpu_features::X86Info info = cpu_features::GetX86Info();
  std::snprintf(f.arch, sizeof f.arch, "x86-64");
  std::snprintf(f.vendor, sizeof f.vendor, "%s", info.vendor);
  std::snprintf(f.model, sizeof f.model, "%s", info.brand_string);
  // Fields are signed 1-bit bitfields: a set flag reads -1, so test != 0.
  f.avx2 = info.features.avx2 != 0;
  f.fma = info.features.fma3 != 0;
  f.avx512f = info.features.avx512f != 0;
  f.avx512bw = info.features.avx512bw != 0;
  f.avx512vl = info.features.avx512vl != 0;
  f.avx512dq = info.features.avx512dq != 0;
  f.avx512vnni = info.features.avx512vnni != 0;
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
  f.neon = info.features.asimd != 0;
  f.asimddp = info.features.asimddp != 0;
  f.i8mm = info.features.i8mm != 0;
#elif defined(__arm__)
  // cpu_features has no armhf build in Debian; HWCAP_NEON from the kernel.
  std::snprintf(f.arch, sizeof f.arch, "arm");
  f.neon = (getauxval(AT_HWCAP) & HWCAP_NEON) != 0;
#else
  std::snprintf(f.arch, sizeof f.arch, "other");
#endif
  return f;
}

}  // namespace

const CpuFeatures& DetectedCpu() {
  static const CpuFeatures detected = Detect();
  return detected;
}

CpuFeatures EffectiveCpu() {
  CpuFeatures f = DetectedCpu();
  const uint32_t hidden = g_hidden_features.load(std::memory_order_relaxed);
  if (hidden & kFeatureAvx2) f.avx2 = f.fma = false;
  if (hidden & kFeatureAvx512) {
    f.avx512f = f.avx512bw = f.avx512vl = f.avx512dq = false;
  }
  if (hidden & kFeatureAvx512Vnni) f.avx512vnni = false;
  if (hidden & kFeatureNeon) f.neon = false;
  if (hidden & kFeatureAsimdDp) f.asimddp = false;
  if (hidden & kFeatureI8mm) f.i8mm = false;
  return f;
}

void HideCpuFeaturesForTesting(uint32_t mask) {
  g_hidden_features.store(mask, std::memory_order_relaxed);
}

}  // namespace qgemm

#include "dispatch/isa.h"

#include <cstdlib>
#include <cstring>

namespace qgemm {

extern const KernelTable kScalarTable;
#if QGEMM_HAVE_AVX2
extern const KernelTable kAvx2Table;
#endif
#if QGEMM_HAVE_AVX512VNNI
extern const KernelTable kAvx512VnniTable;
#endif
#if QGEMM_HAVE_NEON
extern const KernelTable kNeonTable;
#endif
#if QGEMM_HAVE_NEONDOT
extern const KernelTable kNeonDotTable;
#endif

namespace {

bool RunsAvx2(const CpuFeatures& c) { return c.avx2 && c.fma; }
// The avx512vnni table also calls AVX2's dot-rows kernel (unpacked GEMV).
bool RunsAvx512Vnni(const CpuFeatures& c) {
  return c.avx512f && c.avx512bw && c.avx512vl && c.avx512dq && c.avx512vnni &&
         RunsAvx2(c);
}
bool RunsNeonDot(const CpuFeatures& c) { return c.neon && c.asimddp; }
bool RunsNeon(const CpuFeatures& c) { return c.neon; }
bool RunsScalar(const CpuFeatures& /*c*/) { return true; }

const IsaEntry kIsas[] = {
#if QGEMM_HAVE_AVX512VNNI
    {"avx512vnni", &kAvx512VnniTable, RunsAvx512Vnni,
     "AVX-512 F, BW, VL, DQ, VNNI and AVX2"},
#else
    {"avx512vnni", nullptr, RunsAvx512Vnni,
     "AVX-512 F, BW, VL, DQ, VNNI and AVX2"},
#endif
#if QGEMM_HAVE_AVX2
    {"avx2", &kAvx2Table, RunsAvx2, "AVX2 and FMA"},
#else
    {"avx2", nullptr, RunsAvx2, "AVX2 and FMA"},
#endif
#if QGEMM_HAVE_NEONDOT
    {"neondot", &kNeonDotTable, RunsNeonDot,
     "NEON and the dot product (asimddp)"},
#else
    {"neondot", nullptr, RunsNeonDot, "NEON and the dot product (asimddp)"},
#endif
#if QGEMM_HAVE_NEON
    {"neon", &kNeonTable, RunsNeon, "NEON"},
#else
    {"neon", nullptr, RunsNeon, "NEON"},
#endif
    {"scalar", &kScalarTable, RunsScalar, "nothing"},
};

}  // namespace

const IsaEntry* IsaList(size_t* count) {
  *count = sizeof(kIsas) / sizeof(kIsas[0]);
  return kIsas;
}

const IsaEntry* FindIsa(const char* name) {
  if (name == nullptr) return nullptr;
  for (const IsaEntry& e : kIsas) {
    if (std::strcmp(e.name, name) == 0) return &e;
  }
  return nullptr;
}

bool IsaUsable(const IsaEntry& isa, const CpuFeatures& cpu, std::string* why) {
  if (isa.table == nullptr) {
    if (why) {
      *why = std::string("ISA '") + isa.name +
             "' is not in this build (built for " + std::string(cpu.arch) +
             " without its kernels)";
    }
    return false;
  }
  if (!isa.cpu_runs(cpu)) {
    if (why) {
      *why = std::string("ISA '") + isa.name + "' needs " + isa.needs +
             ", which this CPU (or its OS) does not provide";
    }
    return false;
  }
  return true;
}

const IsaEntry& BestIsa(const CpuFeatures& cpu) {
  for (const IsaEntry& e : kIsas) {
    if (IsaUsable(e, cpu, nullptr)) return e;
  }
  return kIsas[sizeof(kIsas) / sizeof(kIsas[0]) - 1];
}

int ResolveIsa(const char* name, const KernelTable** table, std::string* why) {
  const CpuFeatures cpu = EffectiveCpu();
  if (name == nullptr) {
    *why = "ISA name is NULL";
    return 1;
  }
  if (std::strcmp(name, "auto") == 0) {
    *table = BestIsa(cpu).table;
    return 0;
  }
  const IsaEntry* e = FindIsa(name);
  if (e == nullptr) {
    *why = std::string("unknown ISA name '") + name +
           "' (known: auto, avx512vnni, avx2, neondot, neon, scalar)";
    return 1;
  }
  if (!IsaUsable(*e, cpu, why)) return 3;
  *table = e->table;
  return 0;
}

int ResolveDefaultIsa(const KernelTable** table, std::string* why) {
  const char* env = std::getenv("QGEMM_ISA");
  if (env == nullptr || env[0] == '\0') env = "auto";
  const int status = ResolveIsa(env, table, why);
  if (status != 0) *why = "QGEMM_ISA: " + *why;
  return status;
}

}  // namespace qgemm

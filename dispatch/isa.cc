#include "dispatch/isa.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "dispatch/driver.h"

// The tables this build has: one QGEMM_BUILT_ISA(name) line per ISA whose
// kernels/<name>/ folder CMake compiled (generated from the registry).
#include "qgemm_built_isas.inc"

namespace qgemm {

#define QGEMM_BUILT_ISA(name)      \
  namespace name {                 \
  extern const KernelTable kTable; \
  }
QGEMM_BUILT_ISAS
#undef QGEMM_BUILT_ISA

namespace {

constexpr bool SameName(const char* a, const char* b) {
  while (*a != '\0' && *a == *b) {
    ++a;
    ++b;
  }
  return *a == *b;
}

// Compile-time, so that the ISA list is constant-initialized and safe to
// read from any static initializer.
constexpr const KernelTable* BuiltTable(const char* name) {
#define QGEMM_BUILT_ISA(isa) \
  if (SameName(name, #isa)) return &isa::kTable;
  QGEMM_BUILT_ISAS
#undef QGEMM_BUILT_ISA
  return nullptr;
}

#define QGEMM_ISA(name, id, features, needs, qemu_cpu) \
  {#name, id, features, needs, qemu_cpu, BuiltTable(#name)},
constexpr IsaEntry kIsas[] = {
#include "dispatch/isa_registry.def"
};
#undef QGEMM_ISA
constexpr size_t kNumIsas = sizeof(kIsas) / sizeof(kIsas[0]);

// Once per process and ISA: the table's own rules, then (only on a CPU
// that runs it) its enable hook. Empty: ready.
struct Readiness {
  std::once_flag checked, enabled;
  char table_problem[160];  // constant-initialized, like kIsas
  const char* enable_problem;
};
Readiness g_readiness[kNumIsas];

// The readiness of a registry entry; an entry made up elsewhere (a test's)
// gets a fresh one each time, so nothing about it is remembered.
Readiness& ReadinessOf(const IsaEntry& isa, Readiness* fresh) {
  for (size_t i = 0; i < kNumIsas; ++i) {
    if (&kIsas[i] == &isa) return g_readiness[i];
  }
  return *fresh;
}

const char* TableProblem(const IsaEntry& isa, Readiness& r) {
  std::call_once(r.checked, [&] {
    std::string why;
    if (!CheckKernelTable(*isa.table, &why)) {
      // why says it.
    } else if (std::strcmp(isa.table->isa, isa.name) != 0) {
      why = std::string("its table calls itself '") + isa.table->isa + "'";
    } else {
      for (const IsaEntry& other : kIsas) {
        if (std::strcmp(other.name, isa.name) != 0 && other.table != nullptr &&
            other.table->packing_format == isa.table->packing_format) {
          why = std::string("its packing_format is also that of ISA '") +
                other.name + "'";
          break;
        }
      }
    }
    std::snprintf(r.table_problem, sizeof r.table_problem, "%s", why.c_str());
  });
  return r.table_problem;
}

// PretendEnableResultForTesting: the ISA (null: none) and its result. Set
// by a test between calls, read on every dispatch: atomics, no lock.
std::atomic<const char*> g_pretend_isa{nullptr};
std::atomic<const char*> g_pretend_refusal{nullptr};

const char* EnableProblem(const IsaEntry& isa, Readiness& r) {
  const char* pretend = g_pretend_isa.load(std::memory_order_acquire);
  if (pretend != nullptr && std::strcmp(pretend, isa.name) == 0) {
    return g_pretend_refusal.load(std::memory_order_acquire);
  }
  std::call_once(r.enabled, [&] {
    if (isa.table->enable != nullptr) r.enable_problem = isa.table->enable();
  });
  return r.enable_problem;
}

}  // namespace

const IsaEntry* IsaList(size_t* count) {
  *count = kNumIsas;
  return kIsas;
}

const IsaEntry* FindIsa(const char* name) {
  if (name == nullptr) return nullptr;
  for (const IsaEntry& e : kIsas) {
    if (std::strcmp(e.name, name) == 0) return &e;
  }
  return nullptr;
}

const IsaEntry* FindIsaById(uint32_t id) {
  for (const IsaEntry& e : kIsas) {
    if (e.id == id) return &e;
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
  Readiness fresh{};
  Readiness& readiness = ReadinessOf(isa, &fresh);
  const char* problem = TableProblem(isa, readiness);
  if (problem[0] != '\0') {
    if (why) {
      *why = std::string("ISA '") + isa.name +
             "' is disabled: its kernel table breaks a rule: " + problem;
    }
    return false;
  }
  if (!cpu.Has(isa.features)) {
    if (why) {
      *why = std::string("ISA '") + isa.name + "' needs " + isa.needs +
             ", which this CPU (or its OS) does not provide";
    }
    return false;
  }
  if (const char* refused = EnableProblem(isa, readiness)) {
    if (why) {
      *why = std::string("ISA '") + isa.name +
             "' could not be enabled: " + refused;
    }
    return false;
  }
  return true;
}

void PretendEnableResultForTesting(const char* name, const char* refusal) {
  g_pretend_refusal.store(refusal, std::memory_order_release);
  g_pretend_isa.store(name, std::memory_order_release);
}

const IsaEntry& BestIsa(const CpuFeatures& cpu) {
  for (const IsaEntry& e : kIsas) {
    if (IsaUsable(e, cpu, nullptr)) return e;
  }
  return kIsas[kNumIsas - 1];
}

qgemm_status ResolveIsa(const char* name, const KernelTable** table,
                        std::string* why) {
  const CpuFeatures cpu = EffectiveCpu();
  if (name == nullptr) {
    *why = "ISA name is NULL";
    return QGEMM_INVALID_ARGUMENT;
  }
  if (std::strcmp(name, "auto") == 0) {
    *table = BestIsa(cpu).table;
    return QGEMM_OK;
  }
  const IsaEntry* e = FindIsa(name);
  if (e == nullptr) {
    *why = std::string("unknown ISA name '") + name + "' (known: auto";
    for (const IsaEntry& known : kIsas) *why += std::string(", ") + known.name;
    *why += ")";
    return QGEMM_INVALID_ARGUMENT;
  }
  if (!IsaUsable(*e, cpu, why)) return QGEMM_UNSUPPORTED;
  *table = e->table;
  return QGEMM_OK;
}

qgemm_status ResolveDefaultIsa(const KernelTable** table, std::string* why) {
  const char* env = std::getenv("QGEMM_ISA");
  if (env == nullptr || env[0] == '\0') env = "auto";
  const qgemm_status status = ResolveIsa(env, table, why);
  if (status != QGEMM_OK) *why = "QGEMM_ISA: " + *why;
  return status;
}

}  // namespace qgemm

// The ISA list as dispatch sees it: the registry (dispatch/isa_registry.def)
// joined with the kernel tables this build has, and the rules that decide
// whether an ISA may run here.
#ifndef QGEMM_DISPATCH_ISA_H_
#define QGEMM_DISPATCH_ISA_H_

#include <qgemm/qgemm.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "dispatch/cpu.h"
#include "dispatch/kernel_table.h"

namespace qgemm {

// One registry line (see isa_registry.def for the fields).
struct IsaEntry {
  const char* name;
  uint32_t id;
  uint32_t features;  // CpuFeature bits, all required
  const char* needs;
  const char* qemu_cpu;
  const KernelTable* table;  // null: not in this build
};

// All known ISAs, best first; scalar last.
const IsaEntry* IsaList(size_t* count);
const IsaEntry* FindIsa(const char* name);  // null: unknown name
const IsaEntry* FindIsaById(uint32_t id);   // null: no such id

// Whether this build has the ISA, its table passes CheckKernelTable, the
// (effective) CPU has its features and its enable hook (run once per
// process) succeeded; if not, *why says which.
bool IsaUsable(const IsaEntry& isa, const CpuFeatures& cpu, std::string* why);

// The best usable ISA. Scalar is always usable.
const IsaEntry& BestIsa(const CpuFeatures& cpu);

// Resolves "auto" or a name to a table: QGEMM_OK, QGEMM_INVALID_ARGUMENT
// (unknown name) or QGEMM_UNSUPPORTED (known but unusable here); *why is
// the message.
qgemm_status ResolveIsa(const char* name, const KernelTable** table,
                        std::string* why);

// Test-only: IsaUsable treats the enable hook of the registry ISA `name` as
// if it had returned `refusal` (nullptr: agreed), without running it, so
// that dispatch on a pretended CPU does not depend on what this machine's
// OS answers (AMX's tile permission). name nullptr: hooks decide again.
void PretendEnableResultForTesting(const char* name, const char* refusal);

// Resolves QGEMM_ISA (unset or empty: "auto").
qgemm_status ResolveDefaultIsa(const KernelTable** table, std::string* why);

}  // namespace qgemm

#endif  // QGEMM_DISPATCH_ISA_H_

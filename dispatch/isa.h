// The ISA list: every ISA qgemm knows by name, in order of preference, with
// its kernel table where this build has one and the CPU test that must pass
// before any of its code runs.
#ifndef QGEMM_DISPATCH_ISA_H_
#define QGEMM_DISPATCH_ISA_H_

#include <cstddef>
#include <string>

#include "dispatch/cpu.h"
#include "dispatch/kernel_table.h"

namespace qgemm {

struct IsaEntry {
  const char* name;
  const KernelTable* table;  // null: not built (no compiler flags for it)
  bool (*cpu_runs)(const CpuFeatures& cpu);
  const char* needs;  // the features cpu_runs checks, for messages
};

// All known ISAs, best first; scalar last.
const IsaEntry* IsaList(size_t* count);
const IsaEntry* FindIsa(const char* name);  // null: unknown name

// Whether this build has the ISA and the (effective) CPU runs it; if not,
// *why says so.
bool IsaUsable(const IsaEntry& isa, const CpuFeatures& cpu, std::string* why);

// The best usable ISA. Scalar is always usable.
const IsaEntry& BestIsa(const CpuFeatures& cpu);

// Resolves "auto" or a name to a table. Returns 0 (QGEMM_OK),
// 1 (unknown name) or 3 (known but unusable here); *why is the message.
int ResolveIsa(const char* name, const KernelTable** table, std::string* why);

// Resolves QGEMM_ISA (unset or empty: "auto").
int ResolveDefaultIsa(const KernelTable** table, std::string* why);

}  // namespace qgemm

#endif  // QGEMM_DISPATCH_ISA_H_

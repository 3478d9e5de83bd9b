// The AMX kernel body (kernels/amx/gemm_32x32.inl) compiled a second time,
// against a C++ model of the tile instructions (amx_tile_model.h) and
// SIMDe's emulation of its AVX-512 parts, as the table amx_emulated: the
// very same code runs through the kernel tests on any AVX2 CPU. Compiled
// with -mavx2 -mfma only: the object holds no tile and no AVX-512
// instruction (check_no_amx.sh, check_no_avx512.sh).
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>

#include "tests/emulated/simde_fixes.h"
// After SIMDe: it includes <immintrin.h>, whose _tile_* this replaces.
#include "tests/emulated/amx_tile_model.h"

#define QGEMM_AVX512VNNI_NAMESPACE amx_emulated_vnni_part
#define QGEMM_AVX512VNNI_ISA_NAME "amx_emulated_vnni_part"
#define QGEMM_AMX_NAMESPACE amx_emulated
#define QGEMM_AMX_ISA_NAME "amx_emulated"
// The model needs no permission from the OS.
#define QGEMM_AMX_ENABLE nullptr
#include "kernels/amx/gemm_32x32.inl"

namespace qgemm {
namespace amx_emulated {
// For the tests: whether this thread's (model) tiles are configured now,
// and how many LDTILECFG it ran, so that a test can see that the table's
// thread hooks configure tiles for the kernels and release them after.
bool TilesConfiguredOnThisThread() { return amx_model::t_state.configured; }
uint64_t TileConfigsOnThisThread() { return amx_model::t_counts.configs; }
uint64_t TileDotProductsOnThisThread() { return amx_model::t_counts.dps; }
}  // namespace amx_emulated
}  // namespace qgemm

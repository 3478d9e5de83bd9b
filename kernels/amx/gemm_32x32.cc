// The native build of the AMX-INT8 kernels (the body, its tile drawing and
// its exactness argument are in gemm_32x32.inl). Compiled with -mamx-tile
// -mamx-int8 and the AVX-512 flags of kernels/avx512vnni/; dispatch runs
// nothing from here unless the CPU has all of them, palette 1 and the OS
// saves tile state, and the enable hook below got Linux's permission.
// GCC 12.2's AVX-512 headers: see kernels/avx512vnni/gemm_8x32.cc.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>

// The 8x32 VNNI kernels this table runs for short tiles: see
// kernels/avx512vnni/gemm_8x32.cc.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-tree-pre")
#endif

namespace qgemm {
namespace {

// Linux (5.16+) hands out the 8 KiB tile data state only to a process that
// asks: without this the first tile instruction raises SIGILL. Asked once
// per process (the registry's enable hook runs once); the reason stays in a
// static buffer for qgemm-info and set_isa's error.
constexpr int64_t kArchGetXcompPerm = 0x1022;
constexpr int64_t kArchReqXcompPerm = 0x1023;
constexpr int64_t kXfeatureXtiledata = 18;

char g_refusal[160];

const char* RequestTilePermission() {
  if (syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) != 0) {
    const int err = errno;
    std::snprintf(g_refusal, sizeof g_refusal,
                  "Linux refused the tile state: arch_prctl(ARCH_REQ_XCOMP_"
                  "PERM, XFEATURE_XTILEDATA) failed with errno %d (%s)",
                  err,
                  err == EOPNOTSUPP
                      ? "EOPNOTSUPP: no tile state on this CPU or kernel"
                  : err == EINVAL ? "EINVAL: kernel older than Linux 5.16"
                                  : "see errno(3)");
    return g_refusal;
  }
  uint64_t permitted = 0;
  if (syscall(SYS_arch_prctl, kArchGetXcompPerm, &permitted) != 0 ||
      (permitted & (uint64_t{1} << kXfeatureXtiledata)) == 0) {
    std::snprintf(g_refusal, sizeof g_refusal,
                  "Linux accepted ARCH_REQ_XCOMP_PERM but ARCH_GET_XCOMP_PERM "
                  "does not list XFEATURE_XTILEDATA");
    return g_refusal;
  }
  return nullptr;
}

}  // namespace
}  // namespace qgemm

#define QGEMM_AVX512VNNI_NAMESPACE amx_vnni_part
#define QGEMM_AVX512VNNI_ISA_NAME "amx_vnni_part"
#define QGEMM_AMX_NAMESPACE amx
#define QGEMM_AMX_ISA_NAME "amx"
#define QGEMM_AMX_ENABLE RequestTilePermission
#include "kernels/amx/gemm_32x32.inl"

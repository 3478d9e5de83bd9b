// The AVX-512 VNNI kernel body (kernels/avx512vnni/gemm_8x32.inl) compiled a
// second time against SIMDe's emulation of the intrinsics, so that the very
// same code runs through the kernel tests on CPUs without AVX-512. Compiled
// with -mavx2 -mfma only (SIMDe then uses AVX2 halves): the object holds no
// zmm, k-register or VPDPBUSD instruction (tests/emulated/check_no_avx512.sh).
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>

#include "tests/emulated/simde_fixes.h"

#define QGEMM_AVX512VNNI_NAMESPACE avx512vnni_emulated
#define QGEMM_AVX512VNNI_ISA_NAME "avx512vnni_emulated"
#include "kernels/avx512vnni/gemm_8x32.inl"

// The AVX-VNNI kernel body (kernels/avxvnni/gemm_6x16_vpdpbusd.inl) compiled
// a second time with -mavx2 -mfma only, its one AVX-VNNI intrinsic emulated
// by SIMDe, so that the very same code runs through the kernel tests on AVX2
// CPUs without AVX-VNNI. Every other intrinsic it uses is AVX2, which the
// compiler has natively. ctest checks that the object holds no VPDPBUSD
// (tests/emulated/check_no_avx512.sh).
#include <immintrin.h>
#include <simde/x86/avx512/dpbusd.h>

// SIMDe 0.7 (Debian 12) has no _mm256_dpbusd_avx_epi32; its AVX-512 VL
// VNNI twin has the same semantics (u8 x s8, four products summed into each
// int32 lane, wrapping, no saturation), so it stands in. #undef first: a
// compiler header may define the name as a macro, which must not win.
#undef _mm256_dpbusd_avx_epi32
#define _mm256_dpbusd_avx_epi32(src, a, b) simde_mm256_dpbusd_epi32(src, a, b)

#define QGEMM_AVXVNNI_NAMESPACE avxvnni_emulated
#define QGEMM_AVXVNNI_ISA_NAME "avxvnni_emulated"
#include "kernels/avxvnni/gemm_6x16_vpdpbusd.inl"

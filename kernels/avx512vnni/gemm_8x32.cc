// The native build of the AVX-512 VNNI kernels (the body, its tile drawing
// and its exactness argument are in gemm_8x32.inl). Compiled with
// -mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx512vnni; dispatch runs
// nothing from here unless the CPU and OS have all five.
// GCC 12.2's AVX-512 headers initialize _mm512_undefined_epi32() from
// itself, which -W(maybe-)uninitialized flags wherever such an intrinsic is
// inlined (GCC bug 105593, fixed in 12.3); the pragma covers only them.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#define QGEMM_AVX512VNNI_TABLE kAvx512VnniTable
#define QGEMM_AVX512VNNI_ISA_NAME "avx512vnni"
#include "kernels/avx512vnni/gemm_8x32.inl"

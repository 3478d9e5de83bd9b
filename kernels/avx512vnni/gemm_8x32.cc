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

// GCC 12's partial redundancy elimination splits each accumulator of the
// micro-kernel into two phis and then copies all 16 once per k-group (see
// AccumulateTile in the .inl); without it they stay in zmm registers. A
// pragma rather than a -f flag, so that other tools (clang, clang-tidy) can
// read this file's compile command.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-tree-pre")
#endif

#define QGEMM_AVX512VNNI_NAMESPACE avx512vnni
#define QGEMM_AVX512VNNI_ISA_NAME "avx512vnni"
#include "kernels/avx512vnni/gemm_8x32.inl"

// The native build of the AVX-VNNI kernels (the body, its tile drawing and
// its exactness argument are in gemm_6x16_vpdpbusd.inl). Compiled with
// -mavx2 -mfma -mavxvnni and no AVX-512 flag, so VPDPBUSD is VEX-encoded
// (ctest checks the object); dispatch runs nothing from here unless the CPU
// and OS have AVX-VNNI, AVX2 and FMA.
#include <immintrin.h>

#define QGEMM_AVXVNNI_NAMESPACE avxvnni
#define QGEMM_AVXVNNI_ISA_NAME "avxvnni"
#include "kernels/avxvnni/gemm_6x16_vpdpbusd.inl"

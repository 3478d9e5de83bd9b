// Stand-ins for the AVX-512 intrinsics SIMDe 0.7.4 (Debian 12) lacks, for
// the emulated build of kernels/avx512vnni/ only (after
// <simde/x86/avx512.h> with SIMDE_ENABLE_NATIVE_ALIASES).
//
// Each one is #undef'd and then defined unconditionally: at -O0 GCC's own
// headers define some intrinsics with immediates as macros, and an #ifndef
// guard would silently keep GCC's AVX-512 version (docs/design.md,
// "Building per-ISA code").
// Masked loads and stores are scalar loops over the set mask bits, so
// masked-off bytes are never touched, as on the hardware; the rest are built
// from SIMDe's (native AVX2) 256-bit halves or from a store and a loop.
#ifndef QGEMM_TESTS_EMULATED_SIMDE_FIXES_H_
#define QGEMM_TESTS_EMULATED_SIMDE_FIXES_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace qgemm {
namespace {

// VPSRAVD zmm: arithmetic right shift by per-lane counts.
inline simde__m512i EmulatedSravEpi32(simde__m512i a, simde__m512i count) {
  const simde__m256i lo = simde_mm256_srav_epi32(
      simde_mm512_castsi512_si256(a), simde_mm512_castsi512_si256(count));
  const simde__m256i hi =
      simde_mm256_srav_epi32(simde_mm512_extracti64x4_epi64(a, 1),
                             simde_mm512_extracti64x4_epi64(count, 1));
  return simde_mm512_inserti64x4(simde_mm512_castsi256_si512(lo), hi, 1);
}

// VPSRAVQ zmm: arithmetic right shift of int64 lanes by per-lane counts
// (a count above 63 fills with the sign, as the instruction does). Written
// on unsigned values, so no shift of a negative number is needed.
inline simde__m512i EmulatedSravEpi64(simde__m512i a, simde__m512i count) {
  uint64_t lanes[8], counts[8];
  simde_mm512_storeu_si512(lanes, a);
  simde_mm512_storeu_si512(counts, count);
  for (int i = 0; i < 8; ++i) {
    const uint64_t sign = lanes[i] >> 63 ? ~uint64_t{0} : 0;
    const uint64_t c = counts[i] > 63 ? 63 : counts[i];
    const uint64_t shifted = c == 0 ? lanes[i] : lanes[i] >> c;
    lanes[i] = c == 0 ? shifted : shifted | (sign << (64 - c));
  }
  return simde_mm512_loadu_si512(lanes);
}

// VPMOVDB: 16 int32 lanes truncated to their low bytes.
inline simde__m128i EmulatedCvtEpi32Epi8(simde__m512i a) {
  int32_t lanes[16];
  simde_mm512_storeu_si512(lanes, a);
  uint8_t bytes[16];
  for (int i = 0; i < 16; ++i) bytes[i] = static_cast<uint8_t>(lanes[i]);
  return simde_mm_loadu_si128(bytes);
}

// VMOVDQU8 ymm{k}{z} from memory: only the set bytes are read.
inline simde__m256i EmulatedMaskzLoaduEpi8x32(simde__mmask32 k, const void* p) {
  const auto* src = static_cast<const uint8_t*>(p);
  uint8_t bytes[32] = {};
  for (int i = 0; i < 32; ++i) {
    if ((k >> i) & 1) bytes[i] = src[i];
  }
  return simde_mm256_loadu_si256(bytes);
}

// VMOVDQU8 zmm{k}{z} from memory: only the set bytes are read.
inline simde__m512i EmulatedMaskzLoaduEpi8x64(simde__mmask64 k, const void* p) {
  const auto* src = static_cast<const uint8_t*>(p);
  uint8_t bytes[64] = {};
  for (int i = 0; i < 64; ++i) {
    if ((k >> i) & 1) bytes[i] = src[i];
  }
  return simde_mm512_loadu_si512(bytes);
}

// VMOVDQU8 / VMOVDQU32 to memory {k}: only the set elements are written.
inline void EmulatedMaskStoreuEpi8x16(void* p, simde__mmask16 k,
                                      simde__m128i a) {
  uint8_t bytes[16];
  simde_mm_storeu_si128(bytes, a);
  auto* dst = static_cast<uint8_t*>(p);
  for (int i = 0; i < 16; ++i) {
    if ((k >> i) & 1) dst[i] = bytes[i];
  }
}

inline void EmulatedMaskStoreuEpi8x32(void* p, simde__mmask32 k,
                                      simde__m256i a) {
  uint8_t bytes[32];
  simde_mm256_storeu_si256(bytes, a);
  auto* dst = static_cast<uint8_t*>(p);
  for (int i = 0; i < 32; ++i) {
    if ((k >> i) & 1) dst[i] = bytes[i];
  }
}

inline void EmulatedMaskStoreuEpi32x16(void* p, simde__mmask16 k,
                                       simde__m512i a) {
  int32_t lanes[16];
  simde_mm512_storeu_si512(lanes, a);
  auto* dst = static_cast<unsigned char*>(p);
  for (int i = 0; i < 16; ++i) {
    if ((k >> i) & 1) std::memcpy(dst + 4 * i, &lanes[i], 4);
  }
}

// The float output's three instructions, on 256-bit halves with the
// build's native AVX2 and FMA (-mavx2 -mfma): VCVTDQ2PS rounds to nearest
// even, VFMADD213PS rounds once, exactly as the 512-bit forms do per lane.
// SIMDe 0.7.4 lacks the first two; its fmadd falls back to an unfused
// a * b + c when its natural vector size is not 256 bits, which would not
// be fmaf, so all three are defined here.
inline simde__m512 EmulatedCvtEpi32Ps(simde__m512i a) {
  int32_t in[16];
  float out[16];
  simde_mm512_storeu_si512(in, a);
  for (int h = 0; h < 16; h += 8) {
    simde_mm256_storeu_ps(
        out + h, simde_mm256_cvtepi32_ps(simde_mm256_loadu_si256(in + h)));
  }
  return simde_mm512_loadu_ps(out);
}

inline simde__m512 EmulatedFmaddPs(simde__m512 a, simde__m512 b,
                                   simde__m512 c) {
  float x[16], y[16], z[16], out[16];
  simde_mm512_storeu_ps(x, a);
  simde_mm512_storeu_ps(y, b);
  simde_mm512_storeu_ps(z, c);
  for (int h = 0; h < 16; h += 8) {
    simde_mm256_storeu_ps(out + h,
                          simde_mm256_fmadd_ps(simde_mm256_loadu_ps(x + h),
                                               simde_mm256_loadu_ps(y + h),
                                               simde_mm256_loadu_ps(z + h)));
  }
  return simde_mm512_loadu_ps(out);
}

// VMOVUPS to memory {k}: only the set elements are written.
inline void EmulatedMaskStoreuPs(void* p, simde__mmask16 k, simde__m512 a) {
  float lanes[16];
  simde_mm512_storeu_ps(lanes, a);
  auto* dst = static_cast<unsigned char*>(p);
  for (int i = 0; i < 16; ++i) {
    if ((k >> i) & 1) std::memcpy(dst + 4 * i, &lanes[i], 4);
  }
}

}  // namespace
}  // namespace qgemm

#undef _mm512_srav_epi32
#define _mm512_srav_epi32(a, count) ::qgemm::EmulatedSravEpi32(a, count)
#undef _mm512_srav_epi64
#define _mm512_srav_epi64(a, count) ::qgemm::EmulatedSravEpi64(a, count)
#undef _mm512_cvtepi32_epi8
#define _mm512_cvtepi32_epi8(a) ::qgemm::EmulatedCvtEpi32Epi8(a)
#undef _mm512_maskz_loadu_epi8
#define _mm512_maskz_loadu_epi8(k, p) ::qgemm::EmulatedMaskzLoaduEpi8x64(k, p)
#undef _mm256_maskz_loadu_epi8
#define _mm256_maskz_loadu_epi8(k, p) ::qgemm::EmulatedMaskzLoaduEpi8x32(k, p)
#undef _mm_mask_storeu_epi8
#define _mm_mask_storeu_epi8(p, k, a) \
  ::qgemm::EmulatedMaskStoreuEpi8x16(p, k, a)
#undef _mm256_mask_storeu_epi8
#define _mm256_mask_storeu_epi8(p, k, a) \
  ::qgemm::EmulatedMaskStoreuEpi8x32(p, k, a)
#undef _mm512_mask_storeu_epi32
#define _mm512_mask_storeu_epi32(p, k, a) \
  ::qgemm::EmulatedMaskStoreuEpi32x16(p, k, a)

#undef _mm512_cvtepi32_ps
#define _mm512_cvtepi32_ps(a) ::qgemm::EmulatedCvtEpi32Ps(a)
#undef _mm512_fmadd_ps
#define _mm512_fmadd_ps(a, b, c) ::qgemm::EmulatedFmaddPs(a, b, c)
#undef _mm512_mask_storeu_ps
#define _mm512_mask_storeu_ps(p, k, a) ::qgemm::EmulatedMaskStoreuPs(p, k, a)

#endif  // QGEMM_TESTS_EMULATED_SIMDE_FIXES_H_

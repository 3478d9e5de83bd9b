// AVX-VNNI 6x16 micro-kernel: VEX-encoded VPDPBUSD on ymm (u8 x s8, four
// products summed straight into each int32 lane), exact for all uint8 data.
//
// This body is written once and compiled twice:
//   kernels/avxvnni/gemm_6x16_vpdpbusd.cc  natively (-mavx2 -mfma -mavxvnni)
//   tests/emulated/avxvnni_simde.cc        with -mavx2 -mfma only, VPDPBUSD
//                                          emulated by SIMDe, so that it runs
//                                          on any AVX2 CPU
// The includer provides the intrinsics (<immintrin.h>, and for the emulated
// build a stand-in for _mm256_dpbusd_avx_epi32) and defines
//   QGEMM_AVXVNNI_NAMESPACE  the namespace of the KernelTable kTable it
//                            defines
//   QGEMM_AVXVNNI_ISA_NAME   its isa string
// Everything else lives in an anonymous namespace, so the two builds never
// share a symbol (toolchains.md section 4.1).
//
// Register tile: all 16 ymm registers, 12 accumulators, 2 B, 1 broadcast A:
//
//                      B quad q: 16 columns x 4 depths, int8
//                  +-------------------+-------------------+
//                  | b0: cols 0..7     | b1: cols 8..15    |  2 x 32 B loads
//                  +-------------------+-------------------+
//   A row 0 quad --> acc[0][0]           acc[0][1]
//   A row 1 quad --> acc[1][0]           acc[1][1]
//     ...   (vpbroadcastd of 4 A bytes)
//   A row 5 quad --> acc[5][0]           acc[5][1]
//
//   acc[i][h] lane l (int32) = column 8h + l of row i.
//   One step: VPDPBUSD acc[i][h], bcast(a[i][4q..4q+3]), b_h adds
//             sum_{p<4} a[i][4q+p] (u8) * b'[4q+p][8h+l] (s8) per lane.
//   Per quad: 2 B loads + 6 broadcast loads feed 12 VPDPBUSD (384 MACs).
//
// Why 6x16: VPDPBUSD takes A (the unsigned bytes) only from a register and
// has no embedded broadcast in its VEX form, so each A quad costs one
// broadcast register; with two B registers that leaves 13 of 16 for
// accumulators. 6x16 (12 accumulators, 8 loads per 12 VPDPBUSD) is the
// tallest tile that fits, the same shape as the avx2 kernel, whose output
// stage (kernels/avx2/output_stage_6x16.inl) this table shares. 12
// independent accumulators cover VPDPBUSD's latency at two per cycle.
// 4x24 (12 accumulators, 3 B registers, 7 loads per 12 VPDPBUSD) saves one
// load per quad, which the load ports do not need: on Zen 5 this loop
// already runs VPDPBUSD at the register-only peak (the int32-output GEMM
// of 256^3 reaches bench/peak_avxvnni.cc's rate), and 4x24 would read more
// bytes per MAC (112 vs 88 per quad step), pad N = 64 to 72 and need a
// second output stage.
//
// Packed layout: avx2's "narrow" layout (kernels/avx2/pack.cc, drawn in
// kernels/avx2/gemm_6x16.cc), which is exactly what VPDPBUSD reads, so its
// AVX2 packing code serves; KR = 8 (two quads per depth block):
//   A panel, uint8, per depth block of 8 (8 * m_eff bytes):
//     row 0: a0[k..k+7] | row 1: a1[k..k+7] | ... | row m_eff-1
//   B panel, int8 b' = b XOR 0x80, per depth quad k..k+3 (64 bytes):
//     col 0: b'[k..k+3][0] | col 1 | ... | col 7 || col 8 | ... | col 15
//   Depth padding is 0 in A and b' = 0 in B; columns past n_eff hold b' = 0.
//   Row and column sums are of the ORIGINAL uint8 values (zero for padding).
//   (avx2's narrow variant KERNEL saturates on full-range data; its packing
//   does not: b XOR 0x80 and the sums are exact for every byte.)
//
// Why the result is exact (all equalities modulo 2^32, the ring DESIGN.md's
// int32 wrap-around lives in), exactly as for the avx512vnni kernel:
//  1. b XOR 0x80, read as int8, equals b - 128 for every b in [0, 255], so
//     the packed B holds b' = b - ob with ob = b_packed_offset = 128.
//  2. VPDPBUSD multiplies each u8 a by an s8 b', sums 4 products in a wide
//     intermediate (|sum| <= 4 * 255 * 128 < 2^31) and adds that sum to the
//     int32 lane with wrap-around, no saturation (VPDPBUSDS, which would
//     saturate, is not used). So after the loop
//       acc[i][j] = sum_k a[i][k] * b'[k][j]   (mod 2^32);
//     when the 1- and 2-row loops split the depth over two accumulators per
//     lane, their wrapping sum is the same value (addition mod 2^32 is
//     associative).
//  3. Depth padding: a = 0 there, so its products are 0 whatever b' is.
//     Rows and columns past m_eff / n_eff are computed but never stored.
//  4. The driver supplies row_offset[i] = (ob - zb) * rowsum(A_i) and
//     col_offset[j] = bias[j] - za * colsum(B_j) + K * za * zb, and
//       sum_k (a - za)(b - zb)
//         = sum a b - zb rowsum(A) - za colsum(B) + K za zb
//         = sum a b' + ob rowsum(A) - zb rowsum(A) - za colsum(B) + K za zb
//         = acc + row_offset + col_offset,
//     which is what dispatch/kernel_table.h states. The accumulators start
//     from row_offset + col_offset (wrapping vpaddd, as the reference
//     does), so the loop ends with that value.

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "dispatch/kernel_table.h"
#include "kernels/avx2/output_stage_6x16.inl"
#include "kernels/avx2/pack.h"  // packing and DotRowsKN (declarations only)

namespace qgemm {
namespace {

constexpr size_t kMR = avx2::kMR;  // 6
constexpr size_t kNR = avx2::kNR;  // 16
constexpr size_t kKR = avx2::kKR;  // 8: two quads per depth block
constexpr int32_t kBPackedOffset = 128;
static_assert(kMR == 6 && kNR == 16 && kKR == 8, "the layout drawn above");

size_t APanelBytes(size_t k_padded) { return kMR * k_padded; }

void PackA(uint32_t /*variant*/, size_t k, size_t m_eff, const uint8_t* a,
           size_t lda, void* panel, int32_t* row_sums) {
  avx2::PackAPanel(avx2::kNarrowVariant, k, m_eff, a, lda, panel, row_sums);
}

void PackB(uint32_t /*variant*/, size_t k, size_t n_eff, const uint8_t* b,
           size_t ldb, int nk_layout, void* panel, int32_t* col_sums) {
  avx2::PackBPanel(avx2::kNarrowVariant, k, n_eff, b, ldb, nk_layout, panel,
                   col_sums);
}

// One row of one quad step: broadcast row i's quad q, two VPDPBUSD.
#define QGEMM_DPBUSD_ROW(i, q, acc0, acc1)                  \
  if constexpr (kRows > (i)) {                              \
    int32_t quad;                                           \
    std::memcpy(&quad, a + 8 * (i) + 4 * (q), sizeof quad); \
    const __m256i av = _mm256_set1_epi32(quad);             \
    (acc0) = _mm256_dpbusd_avx_epi32((acc0), av, b0);       \
    (acc1) = _mm256_dpbusd_avx_epi32((acc1), av, b1);       \
  }

// The depth loop of Tile6x16 (output_stage_6x16.inl): fills acc[0..kRows)
// with the tile's exact values, the sums over the whole depth plus the row
// and column offsets (its accumulators start from those).
//
// The accumulators are named variables, not an array: GCC 12 scalarizes an
// array of vectors only after unrolling the loops that index it, too late,
// and then moves accumulators through the stack. At the start and at the
// end of each step an empty asm statement takes all 12 in ymm registers
// ("+x") and gives them back: it emits no instruction, but without them GCC
// 12's register allocator splits some accumulators across two registers
// and copies them (2 to 6 vmovdqa per step, depending on the tile's rows
// and the output stage that follows) or spills them to the stack each
// step. With both, every step is the ideal: for 6 rows 4 B loads, 12
// broadcasts and 24 VPDPBUSD plus 4 loop instructions (checked with
// objdump, GCC 12 and clang 14; the SIMDe build gets the same constraint,
// harmless there).
//
// A 1- or 2-row tile would leave only 2 or 4 VPDPBUSD chains, each waiting
// on its own previous result (latency 4-5 cycles on current cores) where 8
// to 10 independent ones keep two units busy. They split the depth over the
// idle accumulators of the rows they lack: the 2-row loop puts the second
// quad of each block into rows 2 and 3's; the 1-row loop takes two blocks
// per step and puts its four quads into rows 0, 2, 3 and 4's (8 chains).
// The parts are added at the end. These loops stream B (GEMV): they ask for
// it 8 KiB ahead, as the avx2 kernel's do.
#define QGEMM_PIN_ACCUMULATORS                                                \
  __asm__(""                                                                  \
          : "+x"(c00), "+x"(c01), "+x"(c10), "+x"(c11), "+x"(c20), "+x"(c21), \
            "+x"(c30), "+x"(c31), "+x"(c40), "+x"(c41), "+x"(c50), "+x"(c51));
struct DepthLoop {
  template <int kRows>
  __attribute__((always_inline)) static void Run(const TileArgs& t,
                                                 __m256i (&acc)[6][2]) {
    static_assert(kRows >= 1 && kRows <= static_cast<int>(kMR), "6x16 tile");
    constexpr bool kSplitDepth = kRows <= 2;
    const auto* a = static_cast<const uint8_t*>(t.a_panel);
    const auto* b = static_cast<const uint8_t*>(t.b_panel);
    // Accumulators start from row_offset[i] + col_offset[j] (wrapping, like
    // everything after them), so the output stage need not add them.
    const __m256i zero = _mm256_setzero_si256();
    const __m256i off0 =
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.cols.col_offset));
    const __m256i off1 = _mm256_loadu_si256(
        reinterpret_cast<const __m256i*>(t.cols.col_offset + 8));
    __m256i c00 = zero, c01 = zero, c10 = zero, c11 = zero;
    __m256i c20 = zero, c21 = zero, c30 = zero, c31 = zero;
    __m256i c40 = zero, c41 = zero, c50 = zero, c51 = zero;
#define QGEMM_START_ROW(i, acc0, acc1)                        \
  if constexpr (kRows > (i)) {                                \
    const __m256i row = _mm256_set1_epi32(t.row_offset[(i)]); \
    (acc0) = _mm256_add_epi32(row, off0);                     \
    (acc1) = _mm256_add_epi32(row, off1);                     \
  }
    QGEMM_START_ROW(0, c00, c01)
    QGEMM_START_ROW(1, c10, c11)
    QGEMM_START_ROW(2, c20, c21)
    QGEMM_START_ROW(3, c30, c31)
    QGEMM_START_ROW(4, c40, c41)
    QGEMM_START_ROW(5, c50, c51)
#undef QGEMM_START_ROW
    size_t n = t.k_padded / kKR;
    if constexpr (kRows == 1) {
// Quad q of the 1-row panel (4 bytes each, contiguous) against B's.
#define QGEMM_ONE_ROW_QUAD(q, acc0, acc1)                                    \
  {                                                                          \
    int32_t quad;                                                            \
    std::memcpy(&quad, a + 4 * (q), sizeof quad);                            \
    const __m256i av = _mm256_set1_epi32(quad);                              \
    (acc0) = _mm256_dpbusd_avx_epi32(                                        \
        (acc0), av,                                                          \
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 64 * (q)))); \
    (acc1) = _mm256_dpbusd_avx_epi32(                                        \
        (acc1), av,                                                          \
        _mm256_loadu_si256(                                                  \
            reinterpret_cast<const __m256i*>(b + 64 * (q) + 32)));           \
  }
      for (; n >= 2; n -= 2) {
        for (int line = 0; line < 4; ++line) {
          _mm_prefetch(reinterpret_cast<const char*>(b) + 8192 + 64 * line,
                       _MM_HINT_T0);
        }
        QGEMM_ONE_ROW_QUAD(0, c00, c01)
        QGEMM_ONE_ROW_QUAD(1, c20, c21)
        QGEMM_ONE_ROW_QUAD(2, c30, c31)
        QGEMM_ONE_ROW_QUAD(3, c40, c41)
        a += 2 * kKR;
        b += 2 * kKR * kNR;
        __asm__(""
                : "+x"(c00), "+x"(c01), "+x"(c20), "+x"(c21), "+x"(c30),
                  "+x"(c31), "+x"(c40), "+x"(c41));
      }
      if (n != 0) {
        QGEMM_ONE_ROW_QUAD(0, c00, c01)
        QGEMM_ONE_ROW_QUAD(1, c20, c21)
        n = 0;
      }
#undef QGEMM_ONE_ROW_QUAD
      c00 = _mm256_add_epi32(_mm256_add_epi32(c00, c20),
                             _mm256_add_epi32(c30, c40));
      c01 = _mm256_add_epi32(_mm256_add_epi32(c01, c21),
                             _mm256_add_epi32(c31, c41));
    }
    for (; n != 0; --n) {
      QGEMM_PIN_ACCUMULATORS
      if constexpr (kSplitDepth) {
        _mm_prefetch(reinterpret_cast<const char*>(b) + 8192, _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(b) + 8192 + 64, _MM_HINT_T0);
      }
      {
        const __m256i b0 =
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b));
        const __m256i b1 =
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 32));
        QGEMM_DPBUSD_ROW(0, 0, c00, c01)
        QGEMM_DPBUSD_ROW(1, 0, c10, c11)
        QGEMM_DPBUSD_ROW(2, 0, c20, c21)
        QGEMM_DPBUSD_ROW(3, 0, c30, c31)
        QGEMM_DPBUSD_ROW(4, 0, c40, c41)
        QGEMM_DPBUSD_ROW(5, 0, c50, c51)
      }
      {
        const __m256i b0 =
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 64));
        const __m256i b1 =
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 96));
        if constexpr (kSplitDepth) {
          QGEMM_DPBUSD_ROW(0, 1, c20, c21)
          QGEMM_DPBUSD_ROW(1, 1, c30, c31)
        } else {
          QGEMM_DPBUSD_ROW(0, 1, c00, c01)
          QGEMM_DPBUSD_ROW(1, 1, c10, c11)
          QGEMM_DPBUSD_ROW(2, 1, c20, c21)
          QGEMM_DPBUSD_ROW(3, 1, c30, c31)
          QGEMM_DPBUSD_ROW(4, 1, c40, c41)
          QGEMM_DPBUSD_ROW(5, 1, c50, c51)
        }
      }
      a += kKR * kRows;
      b += kKR * kNR;
      QGEMM_PIN_ACCUMULATORS
    }
    if constexpr (kRows == 2) {
      c00 = _mm256_add_epi32(c00, c20);
      c01 = _mm256_add_epi32(c01, c21);
      c10 = _mm256_add_epi32(c10, c30);
      c11 = _mm256_add_epi32(c11, c31);
    }
    acc[0][0] = c00;
    acc[0][1] = c01;
    acc[1][0] = c10;
    acc[1][1] = c11;
    acc[2][0] = c20;
    acc[2][1] = c21;
    acc[3][0] = c30;
    acc[3][1] = c31;
    acc[4][0] = c40;
    acc[4][1] = c41;
    acc[5][0] = c50;
    acc[5][1] = c51;
  }
};
#undef QGEMM_DPBUSD_ROW
#undef QGEMM_PIN_ACCUMULATORS

using Tile = Tile6x16<DepthLoop>;

}  // namespace

namespace QGEMM_AVXVNNI_NAMESPACE {
extern const KernelTable kTable;
const KernelTable kTable = {
    QGEMM_AVXVNNI_ISA_NAME,
    /*packing_format=*/0xA5616805u,  // the same bytes in both builds
    kMR,
    kNR,
    kKR,
    APanelBytes,
    avx2::BPanelBytes,
    /*choose_variant=*/nullptr,
    PackA,
    PackB,
    /*b_packed_offset=*/{kBPackedOffset, 0},
    /*gemm_u8=*/{Tile::GemmU8, nullptr},
    /*gemm_s32=*/{Tile::GemmS32, nullptr},
    /*gemm_f32=*/{Tile::GemmF32, nullptr},
    // Unpacked GEMV reads B once and is bound by memory, not by the multiply
    // instruction: AVX2's kernel serves (the ISA requires AVX2; the function
    // is compiled in its own AVX2 translation unit).
    /*dot_rows_kn=*/avx2::DotRowsKN,
    /*dot_rows_nr=*/avx2::kDotRowsNR,
};
}  // namespace QGEMM_AVXVNNI_NAMESPACE

}  // namespace qgemm

// AMX-INT8 32x32 micro-kernel: TDPBUSD on tiles, the AVX-512 VNNI table's
// packed B and output stage, and its 8x32 kernels for tiles of few rows.
//
// This body is written once and compiled twice:
//   kernels/amx/gemm_32x32.cc        natively (-mamx-tile -mamx-int8 and the
//                                    AVX-512 flags of kernels/avx512vnni/)
//   tests/emulated/amx_model.cc      against a C++ model of the tile
//                                    instructions (tests/emulated/
//                                    amx_tile_model.h) and SIMDe's AVX-512,
//                                    so it runs on any AVX2 CPU
// The includer provides the intrinsics (<immintrin.h> with the AMX
// _tile_* macros, or SIMDe and the model) and defines
//   QGEMM_AMX_NAMESPACE        the namespace of the KernelTable kTable
//   QGEMM_AMX_ISA_NAME         its isa string
//   QGEMM_AMX_ENABLE           its enable hook (the native build asks Linux
//                              for the tile state; the model needs nothing)
//   QGEMM_AVX512VNNI_NAMESPACE the namespace of the (unregistered) copy of
//                              the avx512vnni table this includes
// and everything else lives in an anonymous namespace (docs/design.md,
// "Building per-ISA code").
//
// Why TDPBUSD on b XOR 0x80 rather than TDPBUUD on b. Both are exact (the
// products and their int32 sums wrap the same way, see below). TDPBUSD lets
// this table be the avx512vnni table with a tile loop added: AMX's B tile is
// VNNI-4 (each 64-byte tile row holds 16 columns x 4 depths), which is
// exactly one 64-byte half of a k-group of the avx512vnni packed B, and
// TILELOADD takes a stride: a 32-column avx512vnni panel loads as two B
// tiles, stride 128 bytes. So the B packing (and its column sums), the
// offset identities with ob = 128, the 512-bit output stage and the 8x32
// kernels for short tiles are all the avx512vnni ones, compiled in here from
// kernels/avx512vnni/gemm_8x32.inl: a short tile runs the VNNI kernel on the
// very same B panel, with no second packing. TDPBUUD would need its own B
// layout (b unflipped, ob = 0) and so its own packing and VNNI kernels; it
// buys nothing in exactness and, per Intel's tables, TDPBUSD and TDPBUUD
// have the same throughput (one per 16 cycles on Sapphire Rapids). Not
// measured here (this was written on a CPU without AMX).
//
// Tiles (palette 1, every tile configured as 16 rows x 64 bytes, once per
// task by thread_begin; TILERELEASE in thread_end):
//
//                          B tile 6: cols 0..15   B tile 7: cols 16..31
//                          16 k-quads x 64 B      16 k-quads x 64 B
//                          (panel + 2048 s,       (panel + 2048 s + 64,
//                           stride 128)            stride 128)
//   A tile 4: rows 0..15   C tile 0               C tile 1
//     64 depths, stride    rows 0..15 x 0..15     rows 0..15 x 16..31
//   A tile 5: rows 16..31  C tile 2               C tile 3
//                          rows 16..31 x 0..15    rows 16..31 x 16..31
//
//   One depth step s (64 depths): load A4, B6; C0 += A4.B6; load B7;
//   C1 += A4.B7; load A5; C2 += A5.B6; C3 += A5.B7 (TDPBUSD, int32 per
//   element: the sum over 64 depths of u8 a * s8 b'). Tiles that hold only
//   padding rows or columns (m_eff <= 16: A5, C2, C3; n_eff <= 16: B7, C1, C3)
//   are left out by the instantiation for that edge.
//
// One call is a strip of such tiles down M (KernelTable::tile_strips), and
// tile r's output stage runs under tile r + 1's TDPs (AmxStrip):
//
//   tile unit:    [TDPs of tile 0][TDPs of tile 1][TDPs of tile 2] ..
//   vector units:                 [output of 0   ][output of 1   ] ..
//   int32 sums:    buffer 0        buffer 1        buffer 0
//
// Packed layout (KR = 4, k_padded = K rounded up to 4, kp64 = k_padded
// rounded up to 64):
//   A panel: 32 rows of kp64 bytes, row i at i * kp64, plain row-major:
//            a tile is 16 rows read with stride kp64. Depth past K and rows
//            past m_eff are zero. Row sums of the original bytes.
//            Or no panel at all: with K a multiple of 4 the driver lets the
//            tiles read A in place at any width of B (a_in_place_any_width:
//            TILELOADD takes A's stride as it takes kp64), summing its rows
//            with AmxSumARows, or not at all when zb = 128 (see TileLoop).
//   B panel: the avx512vnni layout (32 columns, k-group g = 128 bytes, the
//            quad of column j at 128 g + 4 j, b' = b XOR 0x80 = b - 128).
//            Depth step s is the 2048 bytes from 2048 s on.
// The last depth step of a K that is not a multiple of 64 has fewer than 16
// k-groups in the panel: reading 16 tile rows there would run past the
// panel (and past the buffer for the last one), so those groups are copied
// into a zeroed 2 KiB buffer on the stack and the step loads from it. A is
// zero at those depths anyway, so the zeros in B change nothing; they only
// keep the read inside the buffer and defined. One tile configuration
// serves every K.
//
// Why the result is exact (modulo 2^32, docs/design.md "Accumulation"):
//  1. b XOR 0x80 read as int8 is b - 128 (see gemm_8x32.inl), so B holds
//     b' = b - ob, ob = b_packed_offset = 128.
//  2. TDPBUSD multiplies u8 a by s8 b', adds each group of 4 products and
//     then the sum to the int32 element, all with 32-bit wrap-around and no
//     saturation (Intel SDM, TDPBUSD: DPBD; |four products| <= 4 * 255 *
//     128 < 2^31). So C = sum_k a[i][k] b'[k][j] (mod 2^32), like VPDPBUSD.
//  3. Depth padding: a = 0 there (packed A; the B tail buffer is zeroed),
//     so its products are 0. Rows and columns past m_eff / n_eff are
//     computed and never stored.
//  4. row_offset + col_offset complete the sum as in gemm_8x32.inl; the
//     output stage is its RequantizeRow16 / NarrowRowPair, byte for byte.
//
// Memory ordering: GCC's _tile_loadd and _tile_loadconfig asm statements
// name only the base address (no "memory" clobber), so the compiler may
// sink ordinary stores to a buffer past a tile load of it: a compiler
// barrier sits between every such store and the load (the B tail buffer,
// the tile configuration). _tile_stored has the clobber, so the int32
// block it writes is read back after it.
//
// Short tiles: a tile of m_eff <= kVnniMaxRows rows runs the 8x32 VNNI
// kernel on the same panels (A read with stride kp64, TileArgs::a_stride):
// a TDPBUSD costs about 16 cycles whatever the rows, so for a few rows the
// VNNI loop is at least as fast and skips the tile store and reload. The
// threshold is an estimate from published throughputs, not a measurement.

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/avx512vnni/gemm_8x32.inl"

namespace qgemm {
namespace {

constexpr size_t kAmxMR = 32;
constexpr size_t kAmxNR = 32;
constexpr size_t kStepDepth = 64;                           // depths per step
constexpr size_t kStepGroups = kStepDepth / kKR;            // 16 k-groups
constexpr size_t kBStepBytes = kStepGroups * kBGroupBytes;  // 2048
constexpr size_t kVnniMaxRows = 4;
static_assert(kNR == kAmxNR, "B panels are the avx512vnni panels");

size_t StepStride(size_t k_padded) {
  return (k_padded + kStepDepth - 1) / kStepDepth * kStepDepth;
}

size_t AmxAPanelBytes(size_t k_padded) { return kAmxMR * StepStride(k_padded); }

// ---- Tile configuration (the per-thread hooks) ------------------------------

// The 64-byte LDTILECFG operand (Intel SDM, "TILECFG").
struct alignas(64) TileConfig {
  uint8_t palette;
  uint8_t start_row;
  uint8_t reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
};
static_assert(sizeof(TileConfig) == 64, "LDTILECFG reads 64 bytes");

void ConfigureTiles() {
  TileConfig config;
  std::memset(&config, 0, sizeof config);
  config.palette = 1;
  for (int t = 0; t < 8; ++t) {
    config.rows[t] = 16;
    config.colsb[t] = 64;
  }
  asm volatile("" ::: "memory");  // the stores above, before LDTILECFG
  _tile_loadconfig(&config);
}

void ReleaseTiles() { _tile_release(); }

// ---- Packing ----------------------------------------------------------------

// Copies rows [0, m_eff) of A into the 32-row panel, zero past k and below
// m_eff, and sums them with VPDPBUSD against ones (exact, wrapping like
// the uint32 sums of the contract).
void AmxPackA(uint32_t /*variant*/, size_t k, size_t m_eff, const uint8_t* a,
              size_t lda, void* panel_v, int32_t* row_sums) {
  auto* panel = static_cast<uint8_t*>(panel_v);
  const size_t stride = StepStride((k + kKR - 1) / kKR * kKR);
  const __m512i ones = _mm512_set1_epi8(1);
  for (size_t i = 0; i < kAmxMR; ++i) {
    uint8_t* out = panel + i * stride;
    if (i >= m_eff) {
      // A panel of up to kVnniMaxRows rows only ever meets the VNNI kernel
      // instantiated for exactly m_eff rows (RunAmxTile), which reads no
      // other row: a GEMV then copies one row, not 32 (128 KiB of zeros per
      // call at K = 4096).
      if (m_eff > kVnniMaxRows) std::memset(out, 0, stride);
      row_sums[i] = 0;
      continue;
    }
    const uint8_t* row = a + i * lda;
    __m512i sum = _mm512_setzero_si512();
    for (size_t p = 0; p < stride; p += kStepDepth) {
      const size_t bytes = p >= k ? 0 : (k - p < 64 ? k - p : 64);
      const __mmask64 mask =
          bytes == 64 ? ~__mmask64{0} : (__mmask64{1} << bytes) - 1;
      const __m512i v = _mm512_maskz_loadu_epi8(mask, row + p);
      _mm512_storeu_si512(out + p, v);
      sum = _mm512_dpbusd_epi32(sum, v, ones);
    }
    const __m256i h = _mm256_add_epi32(_mm512_castsi512_si256(sum),
                                       _mm512_extracti64x4_epi64(sum, 1));
    __m128i q = _mm_add_epi32(_mm256_castsi256_si128(h),
                              _mm256_extracti128_si256(h, 1));
    q = _mm_add_epi32(q, _mm_shuffle_epi32(q, 0x4E));
    q = _mm_add_epi32(q, _mm_shuffle_epi32(q, 0xB1));
    row_sums[i] = _mm_cvtsi128_si32(q);
  }
}

// ---- The tile loop ----------------------------------------------------------

size_t DivCeilSize(size_t a, size_t b) { return (a + b - 1) / b; }

// The B operand of the depth tail (K not a multiple of 64): the panel's
// last tail_groups k-groups, zero after them, in tail (kBStepBytes). Null
// when there is no tail. Once per strip: all its tiles read the same panel.
const uint8_t* PrepareBTail(const TileArgs& t, uint8_t* tail) {
  const size_t groups = t.k_padded / kKR;
  const size_t tail_groups = groups % kStepGroups;
  if (tail_groups == 0) return nullptr;
  const auto* b = static_cast<const uint8_t*>(t.b_panel);
  std::memcpy(tail, b + groups / kStepGroups * kBStepBytes,
              tail_groups * kBGroupBytes);
  std::memset(tail + tail_groups * kBGroupBytes, 0,
              kBStepBytes - tail_groups * kBGroupBytes);
  asm volatile("" ::: "memory");  // the copy, before the tile loads
  return tail;
}

// The int32 sums of one tile (t: m_eff <= 32; before the offsets) into acc,
// rows 0..15 or 0..31 (kRowTiles) and columns 0..15 or 0..31 (kColTiles);
// row i at acc + 32 i. between() runs after each depth step's TDPs: the
// strip stores the previous tile's output there (AmxStrip).
//
// A read in place (t.a_stride != 0; then k_padded == K): a depth step loads
// its A tiles where A is, with A's stride, when all the tile rows it loads
// exist (m_eff >= 16 per A tile) and its 64 depths lie within K. Otherwise
// (the rows of an edge tile, the depth tail) it copies what exists of those
// 64 depths of those rows into a zeroed 2 KiB buffer and loads from there,
// so no byte outside A is read and the missing ones are zero, as in a
// packed panel.
template <int kRowTiles, int kColTiles, typename Between>
void TileLoop(const TileArgs& t, const uint8_t* b_tail, int32_t* acc,
              Between&& between) {
  const auto* a = static_cast<const uint8_t*>(t.a_panel);
  const auto* b = static_cast<const uint8_t*>(t.b_panel);
  const bool in_place = t.a_stride != 0;
  const size_t stride = in_place ? t.a_stride : StepStride(t.k_padded);
  constexpr size_t kTileRows = 16 * kRowTiles;
  const bool rows_in_place = t.m_eff >= kTileRows;
  const size_t groups = t.k_padded / kKR;
  const size_t full_steps = groups / kStepGroups;
  const size_t tail_groups = groups % kStepGroups;
  _tile_zero(0);
  if constexpr (kColTiles > 1) _tile_zero(1);
  if constexpr (kRowTiles > 1) {
    _tile_zero(2);
    if constexpr (kColTiles > 1) _tile_zero(3);
  }
  alignas(64) uint8_t a_step[kAmxMR * kStepDepth];
  for (size_t s = 0; s <= full_steps; ++s) {
    const uint8_t* bs = b + s * kBStepBytes;
    if (s == full_steps) {
      if (tail_groups == 0) break;
      bs = b_tail;
    }
    // Each load just before the first TDP that needs it, so that a TDP
    // waits only on loads issued before it and the next step's load of a
    // tile register waits only for the TDPs that read it (tile registers
    // are not renamed).
    const uint8_t* as = a + s * kStepDepth;
    size_t as_stride = stride;
    if (in_place && (!rows_in_place || s == full_steps)) {
      const size_t depth = s == full_steps ? tail_groups * kKR : kStepDepth;
      const size_t rows = t.m_eff < kTileRows ? t.m_eff : kTileRows;
      for (size_t i = 0; i < kTileRows; ++i) {
        uint8_t* row = a_step + i * kStepDepth;
        const size_t bytes = i < rows ? depth : 0;
        if (bytes != 0) std::memcpy(row, as + i * stride, bytes);
        std::memset(row + bytes, 0, kStepDepth - bytes);
      }
      asm volatile("" ::: "memory");  // the copy, before the tile loads
      as = a_step;
      as_stride = kStepDepth;
    }
    const size_t a_half = 16 * as_stride;
    _tile_loadd(4, as, as_stride);
    _tile_loadd(6, bs, kBGroupBytes);
    _tile_dpbusd(0, 4, 6);
    if constexpr (kColTiles > 1) {
      _tile_loadd(7, bs + 64, kBGroupBytes);
      _tile_dpbusd(1, 4, 7);
    }
    if constexpr (kRowTiles > 1) {
      _tile_loadd(5, as + a_half, as_stride);
      _tile_dpbusd(2, 5, 6);
      if constexpr (kColTiles > 1) _tile_dpbusd(3, 5, 7);
    }
    between();
  }
  constexpr size_t kRowBytes = kAmxNR * sizeof(int32_t);  // 128
  _tile_stored(0, acc, kRowBytes);
  if constexpr (kColTiles > 1) _tile_stored(1, acc + 16, kRowBytes);
  if constexpr (kRowTiles > 1) {
    _tile_stored(2, acc + 16 * kAmxNR, kRowBytes);
    if constexpr (kColTiles > 1) {
      _tile_stored(3, acc + 16 * kAmxNR + 16, kRowBytes);
    }
  }
  asm volatile("" ::: "memory");  // (the model's stores too) before reads
}

// ---- Output stages of a stored tile, a few rows at a time ------------------
//
// Each holds what is the same for every tile of a strip (the strip's
// columns: their offsets and output parameters) and stores rows [r0, r1)
// of one tile (TileArgs: its row offsets, C and m_eff) from its int32 sums
// acc. kRowStep: r0 is a multiple of it, r1 too unless r1 == m_eff.
//
// StoreRowsOf works on a copy of the object and of the tile's C, ldc and
// row offsets: a store to C (uint8_t, or any store to an __m512i, a may_alias
// type) may alias the object and the TileArgs behind the references, so
// with members GCC reloads every parameter after each row (the strip's
// out-of-line Store, objdump); a local copy whose address never escapes
// lives in registers.
#define QGEMM_AMX_ALWAYS_INLINE inline __attribute__((always_inline))

template <int kVecs>
struct ColumnOffsets {
  __m512i col[2];
  explicit ColumnOffsets(const TileArgs& t) {
    col[0] = _mm512_loadu_si512(t.cols.col_offset);
    col[1] = kVecs > 1 ? _mm512_loadu_si512(t.cols.col_offset + 16) : col[0];
  }
  // Row i's 16-column vector v with the offsets added (wrapping).
  QGEMM_AMX_ALWAYS_INLINE __m512i Row(const int32_t* row_offset,
                                      const int32_t* acc, size_t i,
                                      int v) const {
    const __m512i sums = _mm512_load_si512(acc + i * kAmxNR + 16 * v);
    const __m512i row = _mm512_set1_epi32(row_offset[i]);
    return _mm512_add_epi32(sums, _mm512_add_epi32(row, col[v]));
  }
};

template <int kVecs, bool kLeftShift>
struct U8Rows {
  using Elem = uint8_t;
  static constexpr size_t kRowStep = 2;  // NarrowRowPair packs two rows
  ColumnOffsets<kVecs> offsets;
  OutputParams16 params[2];
  ClampParams clamp;
  __mmask32 mask;
  U8Rows(const TileArgs& t, const OutputParams16 (&p)[2])
      : offsets(t), params{p[0], p[1]}, clamp(LoadClampParams(*t.clamp)) {
    mask = static_cast<__mmask32>(t.n_eff >= 32 ? 0xFFFFFFFFu
                                                : (1u << t.n_eff) - 1u);
  }
  QGEMM_AMX_ALWAYS_INLINE void StoreRows(uint8_t* c, size_t ldc,
                                         const int32_t* row_offset,
                                         const int32_t* acc, size_t r0,
                                         size_t r1) const {
    const __m512i unused = _mm512_setzero_si512();  // lanes never stored
    for (size_t i = r0; i < r1; i += 2) {
      const bool pair = i + 1 < r1;
      const __m512i x0 = RequantizeRow16<kLeftShift>(
          offsets.Row(row_offset, acc, i, 0), params[0]);
      __m512i x1 = unused, y0 = unused, y1 = unused;
      if constexpr (kVecs > 1) {
        x1 = RequantizeRow16<kLeftShift>(offsets.Row(row_offset, acc, i, 1),
                                         params[1]);
      }
      if (pair) {
        y0 = RequantizeRow16<kLeftShift>(offsets.Row(row_offset, acc, i + 1, 0),
                                         params[0]);
        if constexpr (kVecs > 1) {
          y1 = RequantizeRow16<kLeftShift>(
              offsets.Row(row_offset, acc, i + 1, 1), params[1]);
        }
      }
      const __m512i bytes = NarrowRowPair(x0, x1, y0, y1, clamp);
      uint8_t* row = c + i * ldc;
      _mm256_mask_storeu_epi8(row, mask, _mm512_castsi512_si256(bytes));
      if (pair) {
        _mm256_mask_storeu_epi8(row + ldc, mask,
                                _mm512_extracti64x4_epi64(bytes, 1));
      }
    }
  }
};

template <int kVecs>
struct S32Rows {
  using Elem = int32_t;
  static constexpr size_t kRowStep = 1;
  ColumnOffsets<kVecs> offsets;
  __mmask16 mask[2];
  explicit S32Rows(const TileArgs& t)
      : offsets(t), mask{LaneMask(t.n_eff, 0), LaneMask(t.n_eff, 1)} {}
  QGEMM_AMX_ALWAYS_INLINE void StoreRows(int32_t* c, size_t ldc,
                                         const int32_t* row_offset,
                                         const int32_t* acc, size_t r0,
                                         size_t r1) const {
    for (size_t i = r0; i < r1; ++i) {
      for (int v = 0; v < kVecs; ++v) {
        _mm512_mask_storeu_epi32(c + i * ldc + 16 * v, mask[v],
                                 offsets.Row(row_offset, acc, i, v));
      }
    }
  }
};

// fmaf((float) acc, scale[j], bias_f[j]) as in gemm_8x32.inl.
template <int kVecs>
struct F32Rows {
  using Elem = float;
  static constexpr size_t kRowStep = 1;
  ColumnOffsets<kVecs> offsets;
  __m512 scale[2], bias[2];
  __mmask16 mask[2];
  explicit F32Rows(const TileArgs& t)
      : offsets(t),
        scale{_mm512_loadu_ps(t.cols.scale),
              _mm512_loadu_ps(t.cols.scale + 16 * (kVecs - 1))},
        bias{_mm512_loadu_ps(t.cols.bias_f),
             _mm512_loadu_ps(t.cols.bias_f + 16 * (kVecs - 1))},
        mask{LaneMask(t.n_eff, 0), LaneMask(t.n_eff, 1)} {}
  QGEMM_AMX_ALWAYS_INLINE void StoreRows(float* c, size_t ldc,
                                         const int32_t* row_offset,
                                         const int32_t* acc, size_t r0,
                                         size_t r1) const {
    for (size_t i = r0; i < r1; ++i) {
      for (int v = 0; v < kVecs; ++v) {
        const __m512 y = _mm512_fmadd_ps(
            _mm512_cvtepi32_ps(offsets.Row(row_offset, acc, i, v)), scale[v],
            bias[v]);
        _mm512_mask_storeu_ps(c + i * ldc + 16 * v, mask[v], y);
      }
    }
  }
};

#undef QGEMM_AMX_ALWAYS_INLINE

// Rows [r0, r1) of tile t through the output stage `rows` (U8Rows, S32Rows
// or F32Rows); called after every depth step, often with nothing to do.
template <class Rows>
void StoreRowsOf(const Rows& rows, const TileArgs& t, const int32_t* acc,
                 size_t r0, size_t r1) {
  if (r0 >= r1) return;
  const Rows self = rows;
  self.StoreRows(static_cast<typename Rows::Elem*>(t.c), t.ldc, t.row_offset,
                 acc, r0, r1);
}

// ---- The strip: tiles down M, each tile's output under the next's TDPs ----

// A short tile: the VNNI 8x32 kernel reads A where it is (the packed panel,
// whose rows are kp64 apart, or A itself), on the same B panel.
inline TileArgs AsVnniTile(const TileArgs& t) {
  TileArgs v = t;
  if (v.a_stride == 0) v.a_stride = StepStride(t.k_padded);
  return v;
}

// Tile r of a strip (TileArgs::a_panel_step); elem: bytes of a C element.
inline TileArgs TileOfStrip(const TileArgs& strip, size_t r, size_t elem) {
  TileArgs t = strip;
  const size_t i0 = r * kAmxMR;
  t.a_panel =
      static_cast<const uint8_t*>(strip.a_panel) + r * strip.a_panel_step;
  t.row_offset = strip.row_offset + i0;
  t.c = static_cast<uint8_t*>(strip.c) + i0 * strip.ldc * elem;
  t.m_eff = strip.m_eff - i0 < kAmxMR ? strip.m_eff - i0 : kAmxMR;
  return t;
}

// The tiles of a strip in order. A tile's TDPs run on the tile unit and
// its output stage on the vector units, and a TDPBUSD takes about 16 cycles
// (Intel's tables): at K = 128 the 8 TDPs of a 32x32 tile take ~128 cycles
// while its exact output stage is ~1000 vector instructions. Run one after
// the other, the tile unit idles through every output stage. So tile r's
// sums go to one of two buffers and its output is stored while tile r + 1
// runs: after each of r + 1's depth steps, an equal share of r's rows
// (between() of TileLoop), the rest after its last step; the vector work
// has no dependence on the tile registers, so out-of-order execution runs
// it under the TDPs. The bytes are the same as storing each tile at once:
// every row is stored exactly once from its own tile's sums.
template <int kColTiles, class Rows>
void AmxStrip(const TileArgs& strip, const Rows& out, GemmTileFn vnni) {
  alignas(64) int32_t acc[2][kAmxMR * kAmxNR];
  alignas(64) uint8_t b_tail_bytes[kBStepBytes];
  const uint8_t* b_tail = PrepareBTail(strip, b_tail_bytes);
  const size_t steps = DivCeilSize(strip.k_padded, kStepDepth);
  TileArgs pending = strip;  // the tile whose sums wait in acc[buf ^ 1]
  size_t pending_row = 0, pending_rows = 0;
  int buf = 0;
  for (size_t i0 = 0; i0 < strip.m_eff; i0 += kAmxMR) {
    const TileArgs tile =
        TileOfStrip(strip, i0 / kAmxMR, sizeof(typename Rows::Elem));
    const int32_t* pending_acc = acc[buf ^ 1];
    if (tile.m_eff <= kVnniMaxRows && tile.k_padded != 0) {
      // Only a strip's last tile is short.
      StoreRowsOf(out, pending, pending_acc, pending_row, pending_rows);
      const TileArgs v = AsVnniTile(tile);
      vnni(&v);
      return;
    }
    const size_t share = DivCeilSize(pending_rows, steps > 0 ? steps : 1);
    const size_t per_step = DivCeilSize(share, Rows::kRowStep) * Rows::kRowStep;
    auto between = [&] {
      const size_t end = pending_row + per_step < pending_rows
                             ? pending_row + per_step
                             : pending_rows;
      StoreRowsOf(out, pending, pending_acc, pending_row, end);
      pending_row = end;
    };
    if (tile.m_eff > 16) {
      TileLoop<2, kColTiles>(tile, b_tail, acc[buf], between);
    } else {
      TileLoop<1, kColTiles>(tile, b_tail, acc[buf], between);
    }
    StoreRowsOf(out, pending, pending_acc, pending_row, pending_rows);
    pending = tile;
    pending_row = 0;
    pending_rows = tile.m_eff;
    buf ^= 1;
  }
  StoreRowsOf(out, pending, acc[buf ^ 1], pending_row, pending_rows);
}

template <int kColTiles>
void AmxU8Strip(const TileArgs* t) {
  OutputParams16 params[2];
  __m512i any_left_shift = _mm512_setzero_si512();
  for (int v = 0; v < kColTiles; ++v) {
    params[v] = LoadOutputParams(*t, v);
    any_left_shift = _mm512_or_si512(any_left_shift, params[v].left_shift);
  }
  if (kColTiles == 1) params[1] = params[0];  // never used
  // Typical requantization only shifts right: skip step 1 (exact either
  // way, see RequantizeRow16).
  if (_mm512_test_epi32_mask(any_left_shift, any_left_shift) != 0) {
    AmxStrip<kColTiles>(*t, U8Rows<kColTiles, true>(*t, params), GemmU8);
  } else {
    AmxStrip<kColTiles>(*t, U8Rows<kColTiles, false>(*t, params), GemmU8);
  }
}

template <int kColTiles>
void AmxS32Strip(const TileArgs* t) {
  AmxStrip<kColTiles>(*t, S32Rows<kColTiles>(*t), GemmS32);
}

template <int kColTiles>
void AmxF32Strip(const TileArgs* t) {
  AmxStrip<kColTiles>(*t, F32Rows<kColTiles>(*t), GemmF32);
}

// Row sums for tiles that read A in place: the VNNI table's, 8 rows at a
// time (no pointer is formed past the rows that exist).
void AmxSumARows(size_t k, size_t m_eff, const uint8_t* a, size_t lda,
                 int32_t* row_sums) {
  for (size_t i0 = 0; i0 < kAmxMR; i0 += kMR) {
    if (i0 >= m_eff) {
      std::memset(row_sums + i0, 0, kMR * sizeof(int32_t));
      continue;
    }
    const size_t rows = m_eff - i0 < kMR ? m_eff - i0 : kMR;
    SumARows(k, rows, a + i0 * lda, lda, row_sums + i0);
  }
}

// The strip's columns pick the instantiation: one B tile or two.
void AmxGemmU8(const TileArgs* t) {
  (t->n_eff > 16 ? AmxU8Strip<2> : AmxU8Strip<1>)(t);
}
void AmxGemmS32(const TileArgs* t) {
  (t->n_eff > 16 ? AmxS32Strip<2> : AmxS32Strip<1>)(t);
}
void AmxGemmF32(const TileArgs* t) {
  (t->n_eff > 16 ? AmxF32Strip<2> : AmxF32Strip<1>)(t);
}

}  // namespace

namespace QGEMM_AMX_NAMESPACE {
extern const KernelTable kTable;
const KernelTable kTable = {
    QGEMM_AMX_ISA_NAME,
    // The bytes of an avx512vnni packed B, but its own format: the registry
    // gives every ISA its own (CheckKernelTable), and the native and model
    // builds share this one.
    /*packing_format=*/0xA3A8B432u,
    kAmxMR,
    kAmxNR,
    kKR,
    AmxAPanelBytes,
    BPanelBytes,
    /*choose_variant=*/nullptr,
    AmxPackA,
    PackB,
    /*b_packed_offset=*/{kBPackedOffset, 0},
    /*gemm_u8=*/{AmxGemmU8, nullptr},
    /*gemm_s32=*/{AmxGemmS32, nullptr},
    /*gemm_f32=*/{AmxGemmF32, nullptr},
    // Unpacked GEMV: the avx512vnni table's VPDPBUSD dot-rows kernel.
    /*dot_rows_kn=*/DotRowsKN,
    /*dot_rows_nr=*/kDotRowsNR,
    /*enable=*/QGEMM_AMX_ENABLE,
    /*thread_begin=*/ConfigureTiles,
    /*thread_end=*/ReleaseTiles,
    /*sum_a_rows=*/AmxSumARows,
    /*a_in_place_any_width=*/true,
    /*tile_strips=*/true,
};
}  // namespace QGEMM_AMX_NAMESPACE

}  // namespace qgemm

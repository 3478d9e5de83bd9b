// The one struct where the ISA-agnostic driver meets an ISA's kernels.
//
// Declaration-only on purpose: every kernels/<isa>/ translation unit includes
// this header while compiled with its own -m flags, so nothing here may
// produce code (no inline functions, no templates) that the linker could
// merge with a baseline copy (docs/design.md, "Building per-ISA code").
//
// Depth is never split: a micro-kernel runs over the whole (padded) K of its
// panels, so the output stage always sees the complete int32 sum and a tile's
// bytes do not depend on how the driver blocks or threads (ruy makes the same
// choice). The driver blocks M and N for the caches.
#ifndef QGEMM_DISPATCH_KERNEL_TABLE_H_
#define QGEMM_DISPATCH_KERNEL_TABLE_H_

#include <cstddef>
#include <cstdint>

namespace qgemm {

// What a call writes to C (docs/design.md, "Numerics" and "Additions"):
//   kUint8  requantized uint8 through the fixed-point output stage
//   kInt32  the int32 sum itself
//   kFloat  fmaf((float) acc, scale[j], bias_f[j])
enum class OutputKind : uint32_t { kUint8, kInt32, kFloat };

// Per-column output parameters of one tile: NR entries each, already offset
// to the tile's first column. The driver fills them once per call.
//   col_offset[j] = bias[j] - za * colsum_b[j] + K * za * zb   (int32, wraps)
//                   (float output: no bias, it comes with the fma)
//   left_shift[j] = max(shift[j], 0), right_shift[j] = max(-shift[j], 0)
//   scale[j]      = a_scale * b_scale[j]   one float multiply, in the driver,
//                   so every ISA multiplies by the same float
//   bias_f[j]     = the float bias, +0.0f without one
// A kernel reads only the arrays of its output kind (uint8: the first four;
// int32: col_offset; float: col_offset, scale, bias_f).
struct TileColumns {
  const int32_t* col_offset;
  const int32_t* multiplier;
  const int32_t* left_shift;
  const int32_t* right_shift;
  const float* scale;
  const float* bias_f;
};

// Per-call constants of the uint8 output stage.
struct OutputClamp {
  int32_t c_zero_point;
  int32_t c_min;
  int32_t c_max;
};

// Everything a micro-kernel needs for one MR x NR tile. Rows >= m_eff and
// columns >= n_eff of the tile are computed on padding and never stored.
//   row_offset[i] = (ob - zb) * rowsum_a[i]   (int32, wraps), MR entries
// where ob = KernelTable::b_packed_offset[variant]: packed B may hold
// b' = b - ob (e.g. b - 128 as int8 for u8 x s8 instructions). The exact
// int32 result of the tile is
//   acc[i][j] = sum_k a[i][k] * b'[k][j] + row_offset[i] + col_offset[j]
// which equals sum_k (a - za)(b - zb) + bias[j] modulo 2^32, because
//   sum a (b - zb) = sum a b' + (ob - zb) rowsum(a).
struct TileArgs {
  size_t k_padded;      // K rounded up to KR
  const void* a_panel;  // one packed MR-row panel of A
  const void* b_panel;  // one packed NR-column panel of B
  const int32_t* row_offset;
  TileColumns cols;
  const OutputClamp* clamp;  // uint8 output only
  void* c;                   // first element of the tile in C
  size_t ldc;                // in elements of C
  size_t m_eff, n_eff;
  // 0: a_panel is a packed panel. Else A is read in place (only for a table
  // with sum_a_rows, and only when K is a multiple of KR, so k_padded == K):
  // a_panel is row 0 of the tile in A and row i starts a_stride bytes later;
  // only rows < m_eff are read.
  size_t a_stride = 0;
  // With a_stride only, else null: MR rows of A (a_stride apart, K bytes
  // each) that a later call will read, for the kernel to fetch into cache
  // while it computes (prefetches; never read as data, never fault).
  const uint8_t* a_prefetch = nullptr;
  // Tables with KernelTable::tile_strips only, else unused: the call is a
  // strip of tiles down M (m_eff may exceed MR; tile r = 0, 1, .. has rows
  // [r MR, min((r + 1) MR, m_eff)) of the strip). Tile r reads A at
  // a_panel + r * a_panel_step (bytes: one packed panel, or MR rows of A in
  // place), its row offsets from row_offset + r MR, and writes C from
  // MR r rows below c. No a_prefetch is given with a strip.
  size_t a_panel_step = 0;
};

// A kernel variant is chosen once per B (KernelTable::choose_variant) and
// fixes the packed layout of both operands and the micro-kernel: 0 is the
// general exact kernel every ISA has; an ISA may prove at pack time that B
// lies in a narrower range where a faster instruction is exact, and name
// another variant for it.

// Packs rows [0, m_eff) of A (m_eff <= MR, lda in bytes) over k columns into
// one MR-row panel of depth k_padded, padding rows and depth with zeros, and
// writes MR row sums (zero for padding rows).
using PackAPanelFn = void (*)(uint32_t variant, size_t k, size_t m_eff,
                              const uint8_t* a, size_t lda, void* panel,
                              int32_t* row_sums);

// Packs columns [0, n_eff) of B (n_eff <= NR) into one NR-column panel of
// depth k_padded, padding with zeros, and writes NR column sums (zero for
// padding columns). b points at the first column; with nk_layout B is n x k
// row-major (a row of it is a column of the math B), else k x n row-major.
// A panel is depth-major in blocks of KR: for k0 a multiple of KR, depth
// rows [k0, k0 + kc) of it are the bytes from b_panel_bytes(k0) on, exactly
// as packing those rows alone as a panel of depth kc writes them (the
// driver packs a k x n B in depth chunks that way; the reference tests
// with K up to 33025 check it for every table).
// Row sums of rows [0, m_eff) of A over k columns (lda in bytes), MR
// entries (zero for rows >= m_eff): what pack_a_panel writes besides the
// panel, for tiles that read A in place (TileArgs::a_stride).
using SumARowsFn = void (*)(size_t k, size_t m_eff, const uint8_t* a,
                            size_t lda, int32_t* row_sums);

using PackBPanelFn = void (*)(uint32_t variant, size_t k, size_t n_eff,
                              const uint8_t* b, size_t ldb, int nk_layout,
                              void* panel, int32_t* col_sums);

// Looks at all of B (same layout arguments) and returns the variant to pack
// it with. May be null: always variant 0.
using ChooseVariantFn = uint32_t (*)(size_t k, size_t n, const uint8_t* b,
                                     size_t ldb, int nk_layout);

using GemmTileFn = void (*)(const TileArgs* args);

// Few rows of A against an unpacked k x n row-major B (k, n >= 1), for calls
// where packing B would cost more than the product (GEMV). The kernel reads
// B in place, folding za into A, and runs its ISA's output stage itself:
//   acc[i][j] = sum_k (a[i][k] - za) * b[k][j] + row_offset[i]
//               + cols.col_offset[j]                          (mod 2^32)
// which is sum_k (a - za)(b - zb) + bias[j] with
//   row_offset[i] = -zb * sum_k (a[i][k] - za)   (int32, wraps), m entries
//   col_offset[j] = bias[j]
// (no column sums of B are needed). C gets rows [0, m) x columns [0, n):
// as output says: uint8 through the requantization of TileArgs (the same
// per-column multiplier / shifts and clamp), acc as int32, or float as the
// float micro-kernels write it (scale, bias_f). i < m <= kMaxDotRows. Let
// n_round = n rounded up to KernelTable::dot_rows_nr: the cols arrays of
// the output kind hold n_round entries (those past n may hold anything;
// their lanes are computed and discarded), and scratch holds (m + 1) *
// n_round int32 the kernel may use as it likes (its sums, and column sums
// of B where the kernel needs them). No byte of A or B
// outside the matrices is read, no byte of C outside them written.
struct DotRowsArgs {
  size_t m, k, n;
  const uint8_t* a;
  size_t lda;  // bytes
  uint8_t za;
  const uint8_t* b;
  size_t ldb;  // bytes
  const int32_t* row_offset;
  TileColumns cols;
  OutputKind output;
  const OutputClamp* clamp;  // kUint8 only
  void* c;
  size_t ldc;  // in elements of C
  int32_t* scratch;
};
using DotRowsFn = void (*)(const DotRowsArgs* args);
constexpr size_t kMaxDotRows = 4;

constexpr int kMaxKernelVariants = 2;

struct KernelTable {
  const char* isa;          // "scalar", "avx2", ...
  uint32_t packing_format;  // equal formats may share a packed B
  uint32_t mr, nr, kr;      // tile rows, tile columns, depth granule
  // Bytes of one panel of depth k_padded (the largest over variants).
  size_t (*a_panel_bytes)(size_t k_padded);
  size_t (*b_panel_bytes)(size_t k_padded);
  ChooseVariantFn choose_variant;
  PackAPanelFn pack_a_panel;
  PackBPanelFn pack_b_panel;
  // Packed B of each variant holds b - b_packed_offset[variant] (column
  // sums are always of the original b).
  int32_t b_packed_offset[kMaxKernelVariants];
  // Micro-kernels per variant: uint8 output through the requantization
  // stage, int32 output, and float output (fmaf((float) acc, scale, bias_f)
  // per column, TileColumns). Entries past the ISA's last variant are null.
  GemmTileFn gemm_u8[kMaxKernelVariants];
  GemmTileFn gemm_s32[kMaxKernelVariants];
  GemmTileFn gemm_f32[kMaxKernelVariants];
  // May be null: such calls pack B like any other.
  DotRowsFn dot_rows_kn;
  // Column step of dot_rows_kn: the driver's column blocks are multiples of
  // it, and the cols arrays and scratch are padded to it (DotRowsArgs).
  uint32_t dot_rows_nr;

  // Optional hooks; null (the default) when the ISA needs none.
  //
  // Once per process, at the first dispatch that finds the CPU able to run
  // the ISA: returns null when the ISA may be used, else why not (a string
  // that lives as long as the process). AMX asks Linux for the tile state
  // permission here; without it the first tile instruction raises SIGILL.
  const char* (*enable)() = nullptr;
  // Around every task the driver runs with this table's micro-kernels, on
  // whichever thread runs it (qgemm's own or a caller's pool): a thread that
  // runs a kernel has run thread_begin first, and no thread is left between
  // the two when a call returns (AMX: tile configuration, TILERELEASE).
  void (*thread_begin)() = nullptr;
  void (*thread_end)() = nullptr;

  // Optional: the micro-kernels can read A in place (TileArgs::a_stride).
  // When K is a multiple of KR the driver then sums A's rows with this
  // instead of packing them: for a B of few panels, packing A (a read, a
  // transpose and a write of every byte) costs as much as the products.
  SumARowsFn sum_a_rows = nullptr;
  // With sum_a_rows: read A in place whatever the number of B panels (the
  // tile loads of AMX take a stride, so a panel costs them nothing to read
  // in place, while packing it is one more pass over A); else only for a
  // B of few panels, where the VNNI loops measured faster in place.
  bool a_in_place_any_width = false;
  // The micro-kernels take a strip of tiles down M in one call (TileArgs::
  // a_panel_step): the driver hands each B panel all row panels of its A
  // block at once, so a kernel can run one tile's output stage while the
  // next tile's products run (AMX: the tile unit and the vector units work
  // side by side, and the output stage costs as much as the products).
  bool tile_strips = false;
};

}  // namespace qgemm

#endif  // QGEMM_DISPATCH_KERNEL_TABLE_H_

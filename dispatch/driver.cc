// Loop nest (BLIS-style, depth never split; see kernel_table.h):
//
//   B is packed whole (or comes packed) as NR-column panels of full depth.
//   The output is cut into blocks of MC rows x NC columns; a block is one
//   task for the thread pool:
//     pack the block's MC rows of A into MR-row panels (worker scratch)
//     for each NR panel of B in the block      (B panel hot in L1/L2)
//       for each MR panel of A in the block    (A block hot in L2)
//         micro-kernel -> output stage -> C tile
//
// Every C tile is computed by exactly one kernel call over the whole depth,
// so the bytes of C never depend on the blocking or the thread count.
#include "dispatch/driver.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace qgemm {
namespace {

constexpr size_t kL2BytesForA = 192 * 1024;   // packed A block budget
constexpr size_t kL3BytesForB = 1536 * 1024;  // packed B block budget
constexpr size_t kMaxMC = 480;

size_t DivCeil(size_t a, size_t b) { return (a + b - 1) / b; }

bool CheckedMul(size_t a, size_t b, size_t* out) {
  if (a != 0 && b > std::numeric_limits<size_t>::max() / a) return false;
  *out = a * b;
  return true;
}

// A k x n B is packed in groups of panels up to kPackBGroupBytes wide,
// kPackBChunkRows depth rows at a time: the chunk's rows (128 KiB at most)
// stay in L2 while every panel of the group takes its columns, and each row
// is read along its length, which the prefetchers follow. Packing one
// NR-column panel over the whole depth instead reads NR bytes of k rows
// that are ldb apart, a fresh line and often a fresh page each, every line
// 64 / NR times over. Measured on 1x4096x4096 with unpacked B (AVX2):
// 4.0 GOP/s panel by panel, 6.4 with 1 KiB x 64-row chunks, 7.0 with
// 4 KiB x 32 rows.
// A n x k B (nk_layout) has contiguous rows per column and needs none of it.
constexpr size_t kPackBGroupBytes = 4096;
constexpr size_t kPackBChunkRows = 32;  // a multiple of every table's KR
constexpr size_t kMaxNR = 64;           // chunk column sums on the stack
constexpr size_t kMaxMR = 64;
constexpr size_t kMaxInPlaceBPanels = 8;  // see RunGemm
constexpr size_t kMaxKR = 64;

// Column j's requantization parameters (the per-tensor ones unless
// per-channel), with the signed shift split into the two steps
// (docs/design.md, "Output stage").
struct ColumnRequant {
  int32_t multiplier, left_shift, right_shift;
};

ColumnRequant RequantOfColumn(const OutputSpec& out, size_t j) {
  const size_t q = out.per_channel ? j : 0;
  const int32_t shift = out.shift[q];
  return {out.multiplier[q], shift > 0 ? shift : 0, shift < 0 ? -shift : 0};
}

// The per-column arrays of a call (kernel_table.h's TileColumns), n_padded
// entries each in ctx->col_params (grow-only), once per call:
//   col_offset[j] = bias[j] - za * col_sums[j] + kzz   (mod 2^32)
// with col_sums null for kernels that fold za into A (no column term), and
// no int32 bias for float output (its bias is the fma's addend).
// Float output: scale[j] = a_scale * b_scale[j], the one float multiply of
// the contract, done here once so that every ISA uses the same floats.
// Columns j >= n get no bias and column 0's parameters, so that padding
// lanes compute on valid ones. False: out of memory.
bool ExpandColumns(qgemm_context* ctx, const OutputSpec& out, size_t n,
                   size_t n_padded, const int32_t* col_sums, uint32_t za,
                   uint32_t kzz, TileColumns* cols) {
  static_assert(sizeof(float) == sizeof(int32_t), "one array size for all");
  if (!ctx->col_params.Reserve(6 * n_padded * sizeof(int32_t))) return false;
  auto* col_offset = static_cast<int32_t*>(ctx->col_params.data());
  int32_t* multiplier = col_offset + n_padded;
  int32_t* left_shift = multiplier + n_padded;
  int32_t* right_shift = left_shift + n_padded;
  auto* scale = reinterpret_cast<float*>(right_shift + n_padded);
  float* bias_f = scale + n_padded;
  const bool requantize = out.kind == OutputKind::kUint8;
  const bool to_float = out.kind == OutputKind::kFloat;
  for (size_t j = 0; j < n_padded; ++j) {
    const bool real = j < n;
    const uint32_t bias = (real && out.bias && !to_float)
                              ? static_cast<uint32_t>(out.bias[j])
                              : 0;
    const uint32_t col_term =
        col_sums ? kzz - za * static_cast<uint32_t>(col_sums[j]) : 0;
    col_offset[j] = static_cast<int32_t>(bias + col_term);
    if (requantize) {
      const ColumnRequant r = RequantOfColumn(out, real ? j : 0);
      multiplier[j] = r.multiplier;
      left_shift[j] = r.left_shift;
      right_shift[j] = r.right_shift;
    } else {
      multiplier[j] = left_shift[j] = right_shift[j] = 0;
    }
    if (to_float) {
      const size_t q = (out.per_channel && real) ? j : 0;
      scale[j] = out.a_scale * out.b_scale[q];
      bias_f[j] = (real && out.bias_f) ? out.bias_f[j] : 0.0f;
    } else {
      scale[j] = 0.0f;
      bias_f[j] = 0.0f;
    }
  }
  *cols = {col_offset, multiplier, left_shift, right_shift, scale, bias_f};
  return true;
}

// The column parameters from column j on.
TileColumns ColumnsFrom(const TileColumns& c, size_t j) {
  return {c.col_offset + j,  c.multiplier + j, c.left_shift + j,
          c.right_shift + j, c.scale + j,      c.bias_f + j};
}

GemmTileFn KernelOf(const KernelTable& t, OutputKind kind, uint32_t variant) {
  switch (kind) {
    case OutputKind::kUint8:
      return t.gemm_u8[variant];
    case OutputKind::kInt32:
      return t.gemm_s32[variant];
    case OutputKind::kFloat:
      return t.gemm_f32[variant];
  }
  return nullptr;
}

struct PackBState {
  const KernelTable* table;
  uint32_t variant;
  size_t k, n, ldb, panel_bytes;
  const uint8_t* b;
  int nk_layout;
  uint8_t* panels;
  int32_t* col_sums;
  size_t panels_per_task;  // consecutive panels one task packs
};

void PackBTask(void* state, size_t task, int /*worker*/) {
  const auto& s = *static_cast<const PackBState*>(state);
  const size_t nr = s.table->nr;
  const size_t num_panels = DivCeil(s.n, nr);
  const size_t p_begin = task * s.panels_per_task;
  const size_t p_end = std::min(num_panels, p_begin + s.panels_per_task);
  if (s.k == 0) {
    // Nothing to read: B may be NULL and ldb anything, so no pointer into
    // it may even be formed.
    std::memset(s.panels + p_begin * s.panel_bytes, 0,
                (p_end - p_begin) * s.panel_bytes);
    std::memset(s.col_sums + p_begin * nr, 0,
                (p_end - p_begin) * nr * sizeof(int32_t));
    return;
  }
  // Chunked: panels are depth-major in blocks of KR (kernel_table.h), so
  // rows [k0, k0 + kc) of a panel are the bytes from b_panel_bytes(k0) on,
  // packed as a panel of depth kc; the column sums add up (mod 2^32). A n x k
  // B is one chunk of the whole depth (its rows are already contiguous).
  // CheckKernelTable guarantees nr <= kMaxNR and kr | kPackBChunkRows.
  int32_t chunk_sums[kMaxNR];
  const size_t chunk_rows = s.nk_layout ? s.k : kPackBChunkRows;
  for (size_t k0 = 0; k0 < s.k; k0 += chunk_rows) {
    const size_t kc = std::min(chunk_rows, s.k - k0);
    const size_t offset = s.table->b_panel_bytes(k0);
    for (size_t p = p_begin; p < p_end; ++p) {
      const size_t j0 = p * nr;
      const size_t n_eff = std::min(nr, s.n - j0);
      const uint8_t* b = s.nk_layout ? s.b + j0 * s.ldb : s.b + k0 * s.ldb + j0;
      int32_t* sums = s.col_sums + p * nr;
      s.table->pack_b_panel(s.variant, kc, n_eff, b, s.ldb, s.nk_layout,
                            s.panels + p * s.panel_bytes + offset,
                            k0 == 0 ? sums : chunk_sums);
      if (k0 != 0) {
        for (size_t j = 0; j < nr; ++j) {
          sums[j] = static_cast<int32_t>(static_cast<uint32_t>(sums[j]) +
                                         static_cast<uint32_t>(chunk_sums[j]));
        }
      }
    }
  }
}

struct GemmState {
  qgemm_context* ctx;
  const KernelTable* table;
  const PackedBView* b;
  const OutputSpec* out;
  OutputClamp clamp;
  size_t m, k;
  const uint8_t* a;
  size_t lda;
  int32_t row_sum_factor;  // b_packed_offset[variant] - zb
  bool a_in_place;         // tiles read A in place (TileArgs::a_stride)
  size_t a_panel_bytes;
  size_t mc, nc_panels;  // block: mc rows (multiple of MR), nc_panels B panels
  size_t m_blocks, n_blocks;
  TileColumns cols;  // of the whole call
};

void GemmBlockTask(void* state, size_t task, int worker) {
  const auto& s = *static_cast<const GemmState*>(state);
  const KernelTable& t = *s.table;
  const size_t mr = t.mr, nr = t.nr;
  const size_t ib = task / s.n_blocks, jb = task % s.n_blocks;
  const size_t i0 = ib * s.mc;
  const size_t rows = std::min(s.mc, s.m - i0);
  const size_t a_panels = DivCeil(rows, mr);
  WorkerScratch& w = s.ctx->workers[static_cast<size_t>(worker)];
  auto* a_block = static_cast<uint8_t*>(w.a_panels.data());
  auto* row_offset = static_cast<int32_t*>(w.row_offsets.data());

  for (size_t p = 0; p < a_panels; ++p) {
    const size_t r0 = p * mr;
    const size_t m_eff = std::min(mr, rows - r0);
    if (s.k == 0) {
      // As for B: A may be NULL with any lda when k is 0.
      std::memset(a_block + p * s.a_panel_bytes, 0, s.a_panel_bytes);
      std::memset(row_offset + r0, 0, mr * sizeof(int32_t));
      continue;
    }
    const uint8_t* a_rows = s.a + (i0 + r0) * s.lda;
    if (s.a_in_place) {
      t.sum_a_rows(s.k, m_eff, a_rows, s.lda, row_offset + r0);
    } else {
      t.pack_a_panel(s.b->variant, s.k, m_eff, a_rows, s.lda,
                     a_block + p * s.a_panel_bytes, row_offset + r0);
    }
    for (size_t i = 0; i < mr; ++i) {
      // (ob - zb) * rowsum, wrapping: see kernel_table.h for the identity.
      row_offset[r0 + i] =
          static_cast<int32_t>(static_cast<uint32_t>(row_offset[r0 + i]) *
                               static_cast<uint32_t>(s.row_sum_factor));
    }
  }

  const GemmTileFn kernel = KernelOf(t, s.out->kind, s.b->variant);
  const size_t elem = OutputElementBytes(s.out->kind);
  auto* c_base = static_cast<uint8_t*>(s.out->c);
  const size_t jp_begin = jb * s.nc_panels;
  const size_t jp_end = std::min(s.b->num_panels, jp_begin + s.nc_panels);
  TileArgs args;
  args.k_padded = s.b->k_padded;
  args.clamp = &s.clamp;
  args.ldc = s.out->ldc;
  args.a_stride = s.a_in_place ? s.lda : 0;
  for (size_t jp = jp_begin; jp < jp_end; ++jp) {
    const size_t j0 = jp * nr;
    args.b_panel = s.b->panels + jp * s.b->panel_bytes;
    args.n_eff = std::min(nr, s.b->n - j0);
    args.cols = ColumnsFrom(s.cols, j0);
    for (size_t p = 0; p < a_panels; ++p) {
      const size_t r0 = p * mr;
      args.a_panel = s.a_in_place ? s.a + (i0 + r0) * s.lda
                                  : a_block + p * s.a_panel_bytes;
      args.row_offset = row_offset + r0;
      args.m_eff = std::min(mr, rows - r0);
      args.c = c_base + ((i0 + r0) * s.out->ldc + j0) * elem;
      kernel(&args);
    }
  }
}

}  // namespace

bool CheckKernelTable(const KernelTable& t, std::string* why) {
  const auto fail = [why](const std::string& rule) {
    *why = rule;
    return false;
  };
  if (t.isa == nullptr) return fail("isa name is null");
  if (t.mr == 0 || t.mr > kMaxMR) {
    return fail("mr " + std::to_string(t.mr) + " is outside [1, " +
                std::to_string(kMaxMR) + "]");
  }
  if (t.nr == 0 || t.nr > kMaxNR) {
    return fail("nr " + std::to_string(t.nr) + " is outside [1, " +
                std::to_string(kMaxNR) + "] (the driver sums B chunks of " +
                "nr columns on its stack)");
  }
  if (t.kr == 0 || t.kr > kMaxKR || kPackBChunkRows % t.kr != 0) {
    return fail("kr " + std::to_string(t.kr) + " does not divide the " +
                std::to_string(kPackBChunkRows) +
                "-row depth of the B chunks the driver packs");
  }
  if (t.a_panel_bytes == nullptr || t.b_panel_bytes == nullptr ||
      t.pack_a_panel == nullptr || t.pack_b_panel == nullptr) {
    return fail("a panel size or packing function is null");
  }
  if (t.gemm_u8[0] == nullptr || t.gemm_s32[0] == nullptr ||
      t.gemm_f32[0] == nullptr) {
    return fail("variant 0 lacks a micro-kernel");
  }
  for (int v = 1; v < kMaxKernelVariants; ++v) {
    const bool has_u8 = t.gemm_u8[v] != nullptr;
    if (has_u8 != (t.gemm_s32[v] != nullptr) ||
        has_u8 != (t.gemm_f32[v] != nullptr)) {
      return fail("variant " + std::to_string(v) +
                  " lacks one of its three micro-kernels (uint8, int32, " +
                  "float)");
    }
    if (t.gemm_u8[v] != nullptr && t.choose_variant == nullptr) {
      return fail("variant " + std::to_string(v) +
                  " exists but no choose_variant can pick it");
    }
  }
  if ((t.thread_begin == nullptr) != (t.thread_end == nullptr)) {
    return fail("thread_begin and thread_end come in a pair");
  }
  return true;
}

size_t OutputElementBytes(OutputKind kind) {
  return kind == OutputKind::kUint8 ? 1 : 4;
}

bool PackedBSizes(const KernelTable& table, size_t k, size_t n,
                  size_t* k_padded, size_t* num_panels, size_t* panel_bytes,
                  size_t* total_bytes) {
  if (k > std::numeric_limits<size_t>::max() / 4 - table.kr) return false;
  if (n > std::numeric_limits<size_t>::max() / 4 - table.nr) return false;
  *k_padded = DivCeil(k, table.kr) * table.kr;
  *num_panels = DivCeil(n, table.nr);
  // Panel byte counts are at most a few bytes per element: check the
  // element count first so that the table's multiplication cannot wrap.
  size_t elems;
  if (!CheckedMul(*k_padded, table.nr * 8, &elems)) return false;
  *panel_bytes = table.b_panel_bytes(*k_padded);
  return CheckedMul(*num_panels, *panel_bytes, total_bytes);
}

uint32_t PackB(qgemm_context* ctx, const KernelTable& table, size_t k, size_t n,
               const uint8_t* b, size_t ldb, int nk_layout, uint8_t* panels,
               int32_t* col_sums) {
  PackBState s;
  s.table = &table;
  // An empty B (k or n zero) may be NULL with any ldb: kernels never see it.
  s.variant = table.choose_variant && k != 0 && n != 0
                  ? table.choose_variant(k, n, b, ldb, nk_layout)
                  : 0;
  s.k = k;
  s.n = n;
  s.ldb = ldb;
  s.panel_bytes = table.b_panel_bytes(DivCeil(k, table.kr) * table.kr);
  s.b = b;
  s.nk_layout = nk_layout;
  s.panels = panels;
  s.col_sums = col_sums;
  const size_t num_panels = DivCeil(n, table.nr);
  // Groups no wider than one thread's share, so every thread packs.
  const size_t threads =
      ctx != nullptr ? static_cast<size_t>(std::max(ctx->num_threads, 1)) : 1;
  s.panels_per_task =
      nk_layout ? 1
                : std::max<size_t>(1, std::min(kPackBGroupBytes / table.nr,
                                               DivCeil(num_panels, threads)));
  const size_t tasks = DivCeil(num_panels, s.panels_per_task);
  if (ctx != nullptr) {
    ParallelFor(ctx, tasks, PackBTask, &s, /*kernel_hooks_of=*/nullptr);
  } else {
    for (size_t t = 0; t < tasks; ++t) PackBTask(&s, t, 0);
  }
  return s.variant;
}

qgemm_status RunGemm(qgemm_context* ctx, size_t m, const uint8_t* a, size_t lda,
                     uint8_t a_zero_point, const PackedBView& b,
                     const OutputSpec& out) {
  const KernelTable& t = *b.table;
  const size_t mr = t.mr, nr = t.nr;
  const size_t n_padded = b.num_panels * nr;
  const size_t k = b.k;

  const uint32_t za = a_zero_point, zb = b.zero_point;
  const uint32_t kzz = static_cast<uint32_t>(k) * za * zb;  // mod 2^32
  TileColumns cols;
  if (!ExpandColumns(ctx, out, b.n, n_padded, b.col_sums, za, kzz, &cols)) {
    return QGEMM_OUT_OF_MEMORY;
  }

  // Blocking: an MC-row block of packed A stays in L2 while the NR panels of
  // an NC-column block of B stream past it.
  GemmState s;
  s.ctx = ctx;
  s.table = &t;
  s.b = &b;
  s.out = &out;
  s.clamp = {out.c_zero_point, out.c_min, out.c_max};
  s.m = m;
  s.k = k;
  s.a = a;
  s.lda = lda;
  s.row_sum_factor = t.b_packed_offset[b.variant] - static_cast<int32_t>(zb);
  s.a_panel_bytes = t.a_panel_bytes(b.k_padded);
  // In place when the table can, no depth padding is needed, and B has few
  // panels: a panel of A is then summed, not copied (kernel_table.h,
  // sum_a_rows). Packing pays off once an A panel meets many B panels: its
  // tiles then read one contiguous stream instead of MR rows. Measured on
  // avx512vnni (Zen 5, single thread, packed B): in place 3136x64x576 +10%,
  // 64^3 +5%, 128^3 +3%, 256^3 +2% (8 panels), 384x768x768 even (24),
  // 1024^3 -4.5% (32), 128x4096x4096 -5% (128).
  s.a_in_place = t.sum_a_rows != nullptr && k != 0 && k == b.k_padded &&
                 b.num_panels <= kMaxInPlaceBPanels;
  const size_t row_bytes = std::max<size_t>(1, s.a_panel_bytes / mr);
  size_t mc = std::min(kMaxMC, std::max<size_t>(1, kL2BytesForA / row_bytes));
  mc = std::max(mr, mc / mr * mr);
  size_t nc_panels =
      std::max<size_t>(1, kL3BytesForB / std::max<size_t>(1, b.panel_bytes));
  const size_t workers = static_cast<size_t>(ctx->num_threads);
  size_t m_blocks = DivCeil(m, mc);
  const size_t target = 4 * workers;
  if (workers > 1 && m_blocks < target) {
    // Enough blocks for every thread: cut M first (an A block is packed
    // once per N block), then N.
    mc = std::max(mr, DivCeil(DivCeil(m, target), mr) * mr);
    m_blocks = DivCeil(m, mc);
    if (m_blocks < target) {
      const size_t n_cuts = DivCeil(target, m_blocks);
      nc_panels = std::min(nc_panels,
                           std::max<size_t>(1, DivCeil(b.num_panels, n_cuts)));
    }
  }
  mc = std::min(mc, DivCeil(m, mr) * mr);
  s.mc = mc;
  s.nc_panels = nc_panels;
  s.m_blocks = DivCeil(m, mc);
  s.n_blocks = DivCeil(b.num_panels, nc_panels);
  s.cols = cols;

  const size_t a_block_bytes = DivCeil(mc, mr) * s.a_panel_bytes;
  for (WorkerScratch& w : ctx->workers) {
    if (!w.a_panels.Reserve(a_block_bytes) ||
        !w.row_offsets.Reserve(mc * sizeof(int32_t))) {
      return QGEMM_OUT_OF_MEMORY;
    }
  }
  ParallelFor(ctx, s.m_blocks * s.n_blocks, GemmBlockTask, &s, &t);
  return QGEMM_OK;
}

namespace {

// Column blocks of the dot-rows path: a block's m x 2048 int32 sums (32 KiB
// at m = 4) stay in L1/L2 while B's rows stream past, 2 KiB of each row at
// a time.
constexpr size_t kDotRowsBlock = 2048;

struct DotRowsState {
  qgemm_context* ctx;
  DotRowsFn kernel;
  size_t block;     // columns per task, a multiple of dot_rows_nr
  size_t c_elem;    // bytes of one element of C
  DotRowsArgs all;  // the whole call; a task narrows it to its block
  OutputClamp clamp;
  int32_t row_offset[kMaxDotRows];  // -zb * sum_k (a[i][k] - za), wraps
};

void DotRowsTask(void* state, size_t task, int worker) {
  const auto& s = *static_cast<const DotRowsState*>(state);
  const size_t j0 = task * s.block;
  DotRowsArgs args = s.all;
  args.n = std::min(s.block, s.all.n - j0);
  args.b += j0;
  args.cols = ColumnsFrom(s.all.cols, j0);
  args.c = static_cast<uint8_t*>(s.all.c) + j0 * s.c_elem;
  // The worker's A-block scratch holds the sums: no A is packed here.
  args.scratch = static_cast<int32_t*>(
      s.ctx->workers[static_cast<size_t>(worker)].a_panels.data());
  s.kernel(&args);
}

}  // namespace

bool UseDotRows(const KernelTable& table, size_t m, size_t k) {
  return table.dot_rows_kn != nullptr && table.dot_rows_nr != 0 && m >= 1 &&
         m <= kMaxDotRows && k >= 1;
}

qgemm_status RunDotRows(qgemm_context* ctx, size_t m, size_t n, size_t k,
                        const uint8_t* a, size_t lda, uint8_t a_zero_point,
                        const uint8_t* b, size_t ldb, uint8_t b_zero_point,
                        const OutputSpec& out) {
  const KernelTable& t = *ctx->table;
  const size_t nr = t.dot_rows_nr;
  DotRowsState s;
  s.ctx = ctx;
  s.kernel = t.dot_rows_kn;
  s.c_elem = OutputElementBytes(out.kind);
  s.clamp = {out.c_zero_point, out.c_min, out.c_max};
  // C = sum (a - za) b - zb sum (a - za) + bias: the kernel folds za into A,
  // so the columns carry only the bias (none for float output).
  if (!ExpandColumns(ctx, out, n, DivCeil(n, nr) * nr, /*col_sums=*/nullptr, 0,
                     0, &s.all.cols)) {
    return QGEMM_OUT_OF_MEMORY;
  }
  for (size_t i = 0; i < m; ++i) {
    uint32_t sum = 0;
    for (size_t kk = 0; kk < k; ++kk) {
      sum += static_cast<uint32_t>(a[i * lda + kk]) - a_zero_point;
    }
    s.row_offset[i] = static_cast<int32_t>(0u - sum * b_zero_point);
  }
  s.all.m = m;
  s.all.k = k;
  s.all.n = n;
  s.all.a = a;
  s.all.lda = lda;
  s.all.za = a_zero_point;
  s.all.b = b;
  s.all.ldb = ldb;
  s.all.row_offset = s.row_offset;
  s.all.output = out.kind;
  s.all.clamp = out.kind == OutputKind::kUint8 ? &s.clamp : nullptr;
  s.all.c = out.c;
  s.all.ldc = out.ldc;
  s.all.scratch = nullptr;  // per worker, in DotRowsTask
  // Blocks no wider than one thread's share, so every thread works.
  const size_t workers = static_cast<size_t>(std::max(ctx->num_threads, 1));
  s.block = std::min(std::max(nr, kDotRowsBlock / nr * nr),
                     DivCeil(DivCeil(n, workers), nr) * nr);
  const size_t sum_bytes = m * s.block * sizeof(int32_t);
  for (WorkerScratch& w : ctx->workers) {
    if (!w.a_panels.Reserve(sum_bytes)) return QGEMM_OUT_OF_MEMORY;
  }
  ParallelFor(ctx, DivCeil(n, s.block), DotRowsTask, &s, &t);
  return QGEMM_OK;
}

}  // namespace qgemm

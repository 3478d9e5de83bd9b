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
#include <atomic>
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

// The per-column arrays (kernel_table.h's TileColumns), 6 arrays of
// n_padded entries from base (int32 col_offset, multiplier, left and right
// shift; float scale, bias_f).
TileColumns ColumnArrays(void* base, size_t n_padded) {
  static_assert(sizeof(float) == sizeof(int32_t), "one array size for all");
  auto* col_offset = static_cast<int32_t*>(base);
  int32_t* multiplier = col_offset + n_padded;
  int32_t* left_shift = multiplier + n_padded;
  int32_t* right_shift = left_shift + n_padded;
  auto* scale = reinterpret_cast<float*>(right_shift + n_padded);
  return {col_offset,  multiplier, left_shift,
          right_shift, scale,      scale + n_padded};
}
constexpr size_t kColumnArrays = 6;

// Columns [j_begin, j_end) of the arrays at base:
//   col_offset[j] = bias[j] - za * col_sums[j] + kzz   (mod 2^32)
// with col_sums (indexed from j_begin) null for kernels that fold za into A
// (no column term), and no int32 bias for float output (its bias is the
// fma's addend). Float output: scale[j] = a_scale * b_scale[j], the one
// float multiply of the contract, done here so every ISA uses the same
// floats. Columns j >= n get no bias and column 0's parameters, so that
// padding lanes compute on valid ones. Only the arrays of the output kind
// are written (kernel_table.h: a kernel reads no others).
//
// Every call runs this over all its columns, so it is one branch-free loop
// per array (the compiler vectorizes each): GEMV reads only K bytes of B per
// column, and a loop with the output kind's branches in it took 16% of a
// 1x1024x1024 call (avx512vnni, perf).
void ExpandColumnRange(const OutputSpec& out, size_t n, size_t n_padded,
                       size_t j_begin, size_t j_end, const int32_t* col_sums,
                       uint32_t za, uint32_t kzz, void* base) {
  const TileColumns c = ColumnArrays(base, n_padded);
  auto* col_offset = const_cast<int32_t*>(c.col_offset);
  const bool to_float = out.kind == OutputKind::kFloat;
  // [j_begin, real_end): columns of B; [real_end, j_end): padding.
  const size_t real_end = std::max(j_begin, std::min(j_end, n));
  if (col_sums != nullptr) {
    for (size_t j = j_begin; j < j_end; ++j) {
      col_offset[j] = static_cast<int32_t>(
          kzz - za * static_cast<uint32_t>(col_sums[j - j_begin]));
    }
  } else {
    std::fill(col_offset + j_begin, col_offset + j_end, 0);
  }
  if (out.bias != nullptr && !to_float) {
    for (size_t j = j_begin; j < real_end; ++j) {
      col_offset[j] =
          static_cast<int32_t>(static_cast<uint32_t>(col_offset[j]) +
                               static_cast<uint32_t>(out.bias[j]));
    }
  }
  if (out.kind == OutputKind::kUint8) {
    auto* multiplier = const_cast<int32_t*>(c.multiplier);
    auto* left_shift = const_cast<int32_t*>(c.left_shift);
    auto* right_shift = const_cast<int32_t*>(c.right_shift);
    const ColumnRequant first = RequantOfColumn(out, 0);
    size_t j = j_begin;
    if (out.per_channel) {
      for (; j < real_end; ++j) {
        const int32_t shift = out.shift[j];
        multiplier[j] = out.multiplier[j];
        left_shift[j] = shift > 0 ? shift : 0;
        right_shift[j] = shift < 0 ? -shift : 0;
      }
    }
    std::fill(multiplier + j, multiplier + j_end, first.multiplier);
    std::fill(left_shift + j, left_shift + j_end, first.left_shift);
    std::fill(right_shift + j, right_shift + j_end, first.right_shift);
  } else if (to_float) {
    auto* scale = const_cast<float*>(c.scale);
    auto* bias_f = const_cast<float*>(c.bias_f);
    const float first = out.a_scale * out.b_scale[0];
    size_t j = j_begin;
    if (out.per_channel) {
      for (; j < real_end; ++j) scale[j] = out.a_scale * out.b_scale[j];
    }
    std::fill(scale + j, scale + j_end, first);
    if (out.bias_f != nullptr) {
      std::copy(out.bias_f + j_begin, out.bias_f + real_end, bias_f + j_begin);
      std::fill(bias_f + real_end, bias_f + j_end, 0.0f);
    } else {
      std::fill(bias_f + j_begin, bias_f + j_end, 0.0f);
    }
  }
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

// Packs panels [p_begin, p_end) of a k x n B into panels (panel p_begin's
// first byte) and sums (its first column sum), panel_bytes apart.
void PackPanels(const KernelTable& t, uint32_t variant, size_t k, size_t n,
                const uint8_t* b, size_t ldb, int nk_layout, size_t p_begin,
                size_t p_end, size_t panel_bytes, uint8_t* panels,
                int32_t* sums) {
  const size_t nr = t.nr;
  if (k == 0) {
    // Nothing to read: B may be NULL and ldb anything, so no pointer into
    // it may even be formed.
    std::memset(panels, 0, (p_end - p_begin) * panel_bytes);
    std::memset(sums, 0, (p_end - p_begin) * nr * sizeof(int32_t));
    return;
  }
  // Chunked: panels are depth-major in blocks of KR (kernel_table.h), so
  // rows [k0, k0 + kc) of a panel are the bytes from b_panel_bytes(k0) on,
  // packed as a panel of depth kc; the column sums add up (mod 2^32). A n x k
  // B is one chunk of the whole depth (its rows are already contiguous).
  // CheckKernelTable guarantees nr <= kMaxNR and kr | kPackBChunkRows.
  int32_t chunk_sums[kMaxNR];
  const size_t chunk_rows = nk_layout ? k : kPackBChunkRows;
  const size_t group =
      nk_layout ? 1 : std::max<size_t>(1, kPackBGroupBytes / nr);
  for (size_t g0 = p_begin; g0 < p_end; g0 += group) {
    const size_t g1 = std::min(p_end, g0 + group);
    for (size_t k0 = 0; k0 < k; k0 += chunk_rows) {
      const size_t kc = std::min(chunk_rows, k - k0);
      const size_t offset = t.b_panel_bytes(k0);
      for (size_t p = g0; p < g1; ++p) {
        const size_t j0 = p * nr;
        const size_t n_eff = std::min(nr, n - j0);
        const uint8_t* src = nk_layout ? b + j0 * ldb : b + k0 * ldb + j0;
        int32_t* panel_sums = sums + (p - p_begin) * nr;
        t.pack_b_panel(variant, kc, n_eff, src, ldb, nk_layout,
                       panels + (p - p_begin) * panel_bytes + offset,
                       k0 == 0 ? panel_sums : chunk_sums);
        if (k0 != 0) {
          for (size_t j = 0; j < nr; ++j) {
            panel_sums[j] =
                static_cast<int32_t>(static_cast<uint32_t>(panel_sums[j]) +
                                     static_cast<uint32_t>(chunk_sums[j]));
          }
        }
      }
    }
  }
}

void PackBTask(void* state, size_t task, int /*worker*/) {
  const auto& s = *static_cast<const PackBState*>(state);
  const size_t nr = s.table->nr;
  const size_t num_panels = DivCeil(s.n, nr);
  const size_t p_begin = task * s.panels_per_task;
  const size_t p_end = std::min(num_panels, p_begin + s.panels_per_task);
  PackPanels(*s.table, s.variant, s.k, s.n, s.b, s.ldb, s.nk_layout, p_begin,
             p_end, s.panel_bytes, s.panels + p_begin * s.panel_bytes,
             s.col_sums + p_begin * nr);
}

// How a call's C is shared among slots: a tm x tn grid of rectangles, each
// of whole MR-row panels of A by whole granules of B panels (a granule is
// the fewest NR panels whose C columns fill whole 64-byte lines, so with C
// rows 64-byte aligned no line of C is written by two slots). A rectangle
// is cut into blocks of at most mc_panels A panels by nc_granules granules,
// sized for the caches; a block is one item of its slot. Column blocks too
// are whole granules, so a block stolen by another slot shares no line of
// C with its neighbours either.
struct GemmSplit {
  size_t m_panels, n_panels;  // A row panels, B panels of the call
  size_t granule;             // B panels per N granule
  size_t n_granules;
  size_t tm, tn;
  size_t mc_panels, nc_granules;
};

struct Range {
  size_t begin, end;
};

// Part `i` of `parts` nearly equal parts of [0, count).
Range Part(size_t count, size_t parts, size_t i) {
  return {count * i / parts, count * (i + 1) / parts};
}

// The rectangle of slot s: A panels and granules of B panels.
void RectOf(const GemmSplit& g, size_t s, Range* rows, Range* granules) {
  *rows = Part(g.m_panels, g.tm, s / g.tn);
  *granules = Part(g.n_granules, g.tn, s % g.tn);
}

// Items of a rectangle: its row blocks times its column blocks.
size_t ItemsOf(const GemmSplit& g, const Range& rows, const Range& granules) {
  return DivCeil(rows.end - rows.begin, g.mc_panels) *
         DivCeil(granules.end - granules.begin, g.nc_granules);
}

// Everything a slot reads about the call, in one block of contiguous lines
// (the caller writes it once per call; another thread's first item loads
// it without chasing pointers into the caller's other frames).
struct GemmState {
  qgemm_context* ctx;
  const KernelTable* table;
  uint64_t call;  // ctx->calls of this call
  PackedBView b;
  OutputSpec out;
  OutputClamp clamp;
  size_t m, k;
  const uint8_t* a;
  size_t lda;
  int32_t row_sum_factor;  // b_packed_offset[variant] - zb
  bool a_in_place;         // tiles read A in place (TileArgs::a_stride)
  size_t a_panel_bytes;
  GemmSplit split;
  uint32_t za;      // a_zero_point
  uint32_t kzz;     // k * za * zb, mod 2^32
  size_t n_padded;  // columns of the per-column parameter arrays
  // Unpacked B (k x n row-major, ldb; NULL when k is 0), packed by each
  // slot for the columns it runs (b.panels and b.col_sums are null).
  bool unpacked;
  const uint8_t* b_src;
  size_t ldb;
  size_t col_blocks;                   // column blocks of the widest rectangle
  size_t first_item[kMaxThreads + 1];  // of each slot
};

// The slot's scratch, with its tags reset if they are of an earlier call.
WorkerScratch& ScratchOf(const GemmState& s, int slot) {
  WorkerScratch& w = s.ctx->workers[static_cast<size_t>(slot)];
  if (w.call != s.call) {
    w.call = s.call;
    w.packed_a_block = 0;
    w.cols_begin = w.cols_end = 0;
    w.stolen_block = 0;
    if (s.unpacked) std::memset(w.b_ready.data(), 0, s.col_blocks);
  }
  return w;
}

// Where the column sums of a stolen block start in b_stolen, after its
// panels: at a whole cache line.
size_t StolenSumsOffset(const GemmSplit& g, size_t panel_bytes) {
  return DivCeil(g.nc_granules * g.granule * panel_bytes, kBufferAlignment) *
         kBufferAlignment;
}

// Where the B panels of column block [jp_begin, jp_end) (block `block` of
// its rectangle, whose columns start at panel `rect_begin`) are: packed B,
// or, with unpacked B, the slot's own packing of them (done here, once per
// call). *base_panel is the panel at *panels (and its sums at *sums).
void BPanelsOf(const GemmState& s, WorkerScratch& w, bool own_columns,
               size_t rect_begin, size_t block, size_t jp_begin, size_t jp_end,
               const uint8_t** panels, const int32_t** sums,
               size_t* base_panel) {
  if (!s.unpacked) {
    *panels = s.b.panels;
    *sums = s.b.col_sums;
    *base_panel = 0;
    return;
  }
  const KernelTable& t = *s.table;
  const size_t panel_bytes = s.b.panel_bytes;
  if (own_columns) {
    auto* own_panels = static_cast<uint8_t*>(w.b_panels.data());
    auto* own_sums = static_cast<int32_t*>(w.b_sums.data());
    auto* ready = static_cast<uint8_t*>(w.b_ready.data());
    if (ready[block] == 0) {
      PackPanels(t, s.b.variant, s.k, s.b.n, s.b_src, s.ldb, /*nk_layout=*/0,
                 jp_begin, jp_end, panel_bytes,
                 own_panels + (jp_begin - rect_begin) * panel_bytes,
                 own_sums + (jp_begin - rect_begin) * t.nr);
      ready[block] = 1;
    }
    *panels = own_panels;
    *sums = own_sums;
    *base_panel = rect_begin;
    return;
  }
  // A stolen block of another rectangle's columns: packed for itself.
  auto* stolen = static_cast<uint8_t*>(w.b_stolen.data());
  auto* stolen_sums = static_cast<int32_t*>(
      static_cast<void*>(stolen + StolenSumsOffset(s.split, panel_bytes)));
  if (w.stolen_block != jp_begin + 1) {
    PackPanels(t, s.b.variant, s.k, s.b.n, s.b_src, s.ldb, /*nk_layout=*/0,
               jp_begin, jp_end, panel_bytes, stolen, stolen_sums);
    w.stolen_block = jp_begin + 1;
  }
  *panels = stolen;
  *sums = stolen_sums;
  *base_panel = jp_begin;
}

// Per-column parameters of columns [j_begin, j_end) in the slot's scratch
// (4 arrays of n_padded: col_offset, multiplier, left and right shift),
// unless it holds them already. Each slot expands the columns it runs
// itself: one expansion by the caller before the loop would leave these
// lines to be fetched from the caller's cache by every other slot, on
// every call (measured: 3 us of a 27 us 256^3 call on 2 threads).
void ExpandColumns(const GemmState& s, WorkerScratch& w, size_t j_begin,
                   size_t j_end, const int32_t* sums) {
  if (w.cols_begin <= j_begin && j_end <= w.cols_end) return;
  ExpandColumnRange(s.out, s.b.n, s.n_padded, j_begin, j_end, sums, s.za, s.kzz,
                    w.col_params.data());
  // Keep one contiguous range: a slot's blocks come column block by column
  // block, so its range grows to its rectangle's width.
  if (j_begin == w.cols_end) {
    w.cols_end = j_end;
  } else if (j_end == w.cols_begin) {
    w.cols_begin = j_begin;
  } else {
    w.cols_begin = j_begin;
    w.cols_end = j_end;
  }
}

// Packs A panels [p_begin, p_end) into the slot's scratch, unless it holds
// them already from the slot's previous block.
void PackABlock(const GemmState& s, WorkerScratch& w, size_t p_begin,
                size_t p_end) {
  if (w.packed_a_block == p_begin + 1) return;
  const KernelTable& t = *s.table;
  const size_t mr = t.mr;
  auto* a_block = static_cast<uint8_t*>(w.a_panels.data());
  auto* row_offset = static_cast<int32_t*>(w.row_offsets.data());
  for (size_t p = p_begin; p < p_end; ++p) {
    const size_t i0 = p * mr;
    const size_t m_eff = std::min(mr, s.m - i0);
    uint8_t* panel = a_block + (p - p_begin) * s.a_panel_bytes;
    int32_t* offsets = row_offset + (p - p_begin) * mr;
    if (s.k == 0) {
      // As for B: A may be NULL with any lda when k is 0.
      std::memset(panel, 0, s.a_panel_bytes);
      std::memset(offsets, 0, mr * sizeof(int32_t));
      continue;
    }
    const uint8_t* a_rows = s.a + i0 * s.lda;
    if (s.a_in_place && s.row_sum_factor == 0) {
      // zb equals the table's packed offset (128 on the VNNI tables: int8
      // weights stored as uint8): the row sums' term vanishes, so A is not
      // read here at all.
      std::memset(offsets, 0, mr * sizeof(int32_t));
      continue;
    }
    if (s.a_in_place) {
      t.sum_a_rows(s.k, m_eff, a_rows, s.lda, offsets);
    } else {
      t.pack_a_panel(s.b.variant, s.k, m_eff, a_rows, s.lda, panel, offsets);
    }
    for (size_t i = 0; i < mr; ++i) {
      // (ob - zb) * rowsum, wrapping: see kernel_table.h for the identity.
      offsets[i] =
          static_cast<int32_t>(static_cast<uint32_t>(offsets[i]) *
                               static_cast<uint32_t>(s.row_sum_factor));
    }
  }
  w.packed_a_block = p_begin + 1;
}

void GemmBlockItem(void* state, size_t item, int owner, int slot) {
  const auto& s = *static_cast<const GemmState*>(state);
  const GemmSplit& g = s.split;
  const KernelTable& t = *s.table;
  const size_t mr = t.mr, nr = t.nr;
  Range rows, granules;
  RectOf(g, static_cast<size_t>(owner), &rows, &granules);
  const size_t m_blocks = DivCeil(rows.end - rows.begin, g.mc_panels);
  const size_t n_blocks = DivCeil(granules.end - granules.begin, g.nc_granules);
  const size_t local = item - s.first_item[owner];
  // Row-block-major: a slot's consecutive blocks share their A block.
  const Range ib = Part(rows.end - rows.begin, m_blocks, local / n_blocks);
  const Range jb =
      Part(granules.end - granules.begin, n_blocks, local % n_blocks);
  const size_t p_begin = rows.begin + ib.begin, p_end = rows.begin + ib.end;
  WorkerScratch& w = ScratchOf(s, slot);
  PackABlock(s, w, p_begin, p_end);
  const size_t jp_begin =
      std::min(g.n_panels, (granules.begin + jb.begin) * g.granule);
  const size_t jp_end =
      std::min(g.n_panels, (granules.begin + jb.end) * g.granule);
  const uint8_t* b_panels;
  const int32_t* b_sums;
  size_t base_panel;
  BPanelsOf(
      s, w,
      static_cast<size_t>(owner) % g.tn == static_cast<size_t>(slot) % g.tn,
      granules.begin * g.granule, local % n_blocks, jp_begin, jp_end, &b_panels,
      &b_sums, &base_panel);
  ExpandColumns(s, w, jp_begin * nr, jp_end * nr,
                b_sums + (jp_begin - base_panel) * nr);
  const auto* a_block = static_cast<const uint8_t*>(w.a_panels.data());
  const auto* row_offset = static_cast<const int32_t*>(w.row_offsets.data());
  const TileColumns cols = ColumnArrays(w.col_params.data(), s.n_padded);

  const GemmTileFn kernel = KernelOf(t, s.out.kind, s.b.variant);
  const size_t elem = OutputElementBytes(s.out.kind);
  auto* c_base = static_cast<uint8_t*>(s.out.c);
  TileArgs args;
  args.k_padded = s.b.k_padded;
  args.clamp = &s.clamp;
  args.ldc = s.out.ldc;
  args.a_stride = s.a_in_place ? s.lda : 0;
  // A read in place: the tiles of the block's last column panel fetch the
  // same panels of the slot's next A block (if whole), which the next item
  // sums first (sum_a_rows): that pass then reads L2, not memory (measured
  // on 3136x64x576, avx512vnni: sum_a_rows 10% of the time before).
  const size_t next_block = p_end - p_begin;
  const size_t prefetch_rows_end =
      std::min(rows.end, (s.m / mr)) * mr;  // whole panels of the slot
  for (size_t jp = jp_begin; jp < jp_end; ++jp) {
    const size_t j0 = jp * nr;
    args.b_panel = b_panels + (jp - base_panel) * s.b.panel_bytes;
    args.n_eff = std::min(nr, s.b.n - j0);
    args.cols = ColumnsFrom(cols, j0);
    if (t.tile_strips) {  // the whole column of the block in one call
      const size_t i0 = p_begin * mr;
      args.a_panel = s.a_in_place ? s.a + i0 * s.lda : a_block;
      args.a_panel_step = s.a_in_place ? mr * s.lda : s.a_panel_bytes;
      args.row_offset = row_offset;
      args.m_eff = std::min(p_end * mr, s.m) - i0;
      args.c = c_base + (i0 * s.out.ldc + j0) * elem;
      kernel(&args);
      continue;
    }
    const bool prefetch_next = s.a_in_place && jp + 1 == jp_end;
    for (size_t p = p_begin; p < p_end; ++p) {
      const size_t i0 = p * mr;
      const size_t next_i0 = (p + next_block) * mr;
      args.a_prefetch = prefetch_next && next_i0 + mr <= prefetch_rows_end
                            ? s.a + next_i0 * s.lda
                            : nullptr;
      args.a_panel = s.a_in_place ? s.a + i0 * s.lda
                                  : a_block + (p - p_begin) * s.a_panel_bytes;
      args.row_offset = row_offset + (p - p_begin) * mr;
      args.m_eff = std::min(mr, s.m - i0);
      args.c = c_base + (i0 * s.out.ldc + j0) * elem;
      kernel(&args);
    }
  }
}

// ---- Threads: whether a call is worth splitting, and how ----
//
// The cost model, in nanoseconds of one thread. Measured on a 2-core AMD
// Zen 5 (EPYC, AVX-512 VNNI) with build/bench and a loop timing each call
// (medians of thousands), packed B, uint8 output:
//
//   a tile step (one MR x NR tile over one depth unit of k_padded):
//     avx512vnni 0.66 ns at 256^3, 0.63 at 384x768x768, 0.62 at 1024^3 and
//     128x4096x4096; avx2 1.10; scalar 1.6. The fastest table's figure, so
//     that a slower table is never split finer than it gains (it may stay
//     on one thread a little longer than it has to).
constexpr double kNsPerTileStep = 0.62;
//   packing a byte of A, or of an unpacked B, read from beyond L2:
//     128x4096x4096 unpacked minus packed, 2.0 ms for 16 MiB of B; and
//     what cutting N instead of M costs 1024^3 (each slot packs all of A):
//     38 us more for 512 KiB more of A per slot, net of its B reads below.
constexpr double kNsPerPackedByte = 0.12;
//   reading a byte of packed B again from beyond L2 (L3): 128x4096x4096
//     cut along N (24 MiB of B reads per slot) beats the cut along M (32
//     MiB) by 76 us, 31 us of which is A packing.
constexpr double kNsPerBByteRead = 0.013;
// A slot must have at least this much work: below it, starting the slot
// (publishing the loop to a spinning worker, its joining, the caller
// waiting for it: about 1 us in all) costs more than the slot takes off
// the caller. Measured, 2 threads against 1, every call split: avx512vnni
// 64^3 (1.4 us) 0.71x, 96^3 (3.6 us) 1.09x, 128^3 (7.3 us) 1.54x,
// 160^3 1.53x; avx2 64^3 (4.3 us) 1.18x, 96^3 1.61x. Two slots from 4 us
// of modelled work.
constexpr double kMinNsPerSlot = 2000;
// A slot's B panels up to this size stay in L2 while its A blocks pass.
constexpr size_t kL2BytesForB = 512 * 1024;
// Items per slot when split, so that a slot that finishes early has a
// tail to steal.
constexpr size_t kMinItemsPerSlot = 4;
constexpr size_t kCacheLine = 64;

std::atomic<bool> g_split_every_call{false};

// Slots for a loop of `ns` of single-thread work on up to `threads`.
size_t SlotsForWork(double ns, size_t threads) {
  if (g_split_every_call.load(std::memory_order_relaxed)) return threads;
  if (threads <= 1 || !(ns >= 2 * kMinNsPerSlot)) return 1;
  const double slots = ns / kMinNsPerSlot;
  return slots >= static_cast<double>(threads) ? threads
                                               : static_cast<size_t>(slots);
}

// The largest rectangle's cost for a tm x tn grid: its tiles, its A rows
// packed (once per A block; a slot's blocks of one row range share it),
// its B panels read (once if they stay in L2, else once per A block), and
// with unpacked B its B columns packed (each slot packs its own: cutting M
// packs B once per row of the grid, cutting N packs A once per column).
double RectCost(const GemmSplit& g, const KernelTable& t, const PackedBView& b,
                bool pack_b, size_t tm, size_t tn) {
  const size_t rows = DivCeil(g.m_panels, tm);
  const size_t cols =
      std::min(g.n_panels, DivCeil(g.n_granules, tn) * g.granule);
  const double b_bytes = static_cast<double>(cols * b.panel_bytes);
  const double b_passes = b_bytes > static_cast<double>(kL2BytesForB)
                              ? static_cast<double>(DivCeil(rows, g.mc_panels))
                              : 1.0;
  const double packed_b_bytes =
      pack_b ? static_cast<double>(cols * t.nr) * static_cast<double>(b.k)
             : 0.0;
  return static_cast<double>(rows) * static_cast<double>(cols) *
             static_cast<double>(b.k_padded) * kNsPerTileStep +
         (static_cast<double>(rows * t.mr) * static_cast<double>(b.k) +
          packed_b_bytes) *
             kNsPerPackedByte +
         b_bytes * b_passes * kNsPerBByteRead;
}

GemmSplit ChooseGemmSplit(const KernelTable& t, const PackedBView& b,
                          bool pack_b, size_t m, size_t a_panel_bytes,
                          size_t c_elem, size_t threads) {
  const size_t mr = t.mr, nr = t.nr;
  GemmSplit g;
  g.m_panels = DivCeil(m, mr);
  g.n_panels = b.num_panels;
  g.granule = 1;
  while (g.granule * nr * c_elem % kCacheLine != 0) ++g.granule;
  g.n_granules = DivCeil(g.n_panels, g.granule);
  // Cache blocks: an A block of mc_panels stays in L2 while the B panels of
  // an nc_granules block stream past it.
  const size_t row_bytes = std::max<size_t>(1, a_panel_bytes / mr);
  const size_t mc = std::min(kMaxMC, kL2BytesForA / row_bytes);
  g.mc_panels = std::max<size_t>(1, mc / mr);
  g.nc_granules = std::max<size_t>(
      1, kL3BytesForB / std::max<size_t>(1, b.panel_bytes * g.granule));
  g.tm = g.tn = 1;
  const double steps = static_cast<double>(g.m_panels) *
                       static_cast<double>(g.n_panels) *
                       static_cast<double>(b.k_padded);
  // Equal rectangles of whole panels: no more slots than granules of work.
  const double cells =
      static_cast<double>(g.m_panels) * static_cast<double>(g.n_granules);
  const double packed_b_bytes =
      pack_b ? static_cast<double>(b.n) * static_cast<double>(b.k) : 0.0;
  size_t slots = SlotsForWork(
      steps * kNsPerTileStep + packed_b_bytes * kNsPerPackedByte, threads);
  if (static_cast<double>(slots) > cells) slots = static_cast<size_t>(cells);
  for (; slots > 1; --slots) {
    double best = 0;
    for (size_t tm = slots; tm >= 1; --tm) {  // ties: cut M (A packed once)
      const size_t tn = slots / tm;
      if (tm * tn != slots || tm > g.m_panels || tn > g.n_granules) continue;
      const double cost = RectCost(g, t, b, pack_b, tm, tn);
      if (g.tm * g.tn != slots || cost < best) {
        g.tm = tm;
        g.tn = tn;
        best = cost;
      }
    }
    if (g.tm * g.tn == slots) break;
  }
  if (g.tm * g.tn <= 1) return g;
  // Enough items per slot for stealing: cut the rectangle's columns finer,
  // in whole granules. Not its rows: a block of few A panels would load
  // each B panel into L1 for few kernel calls (measured: 32-row blocks
  // slowed 256^3 kernels by half), while a slot's blocks of one row range
  // share their packed A block.
  const size_t rows = DivCeil(g.m_panels, g.tm);
  const size_t granules = DivCeil(g.n_granules, g.tn);
  const size_t m_blocks = DivCeil(rows, g.mc_panels);
  if (m_blocks * DivCeil(granules, g.nc_granules) < kMinItemsPerSlot) {
    const size_t n_blocks = DivCeil(kMinItemsPerSlot, m_blocks);
    g.nc_granules = std::min(g.nc_granules, DivCeil(granules, n_blocks));
  }
  return g;
}

// Grows the scratch of slots [0, num_slots) to `need` (and every slot
// reserved before to the largest of each kind seen), unless it is that
// large already: then no slot's scratch is touched.
bool ReserveSlotScratch(qgemm_context* ctx, size_t num_slots,
                        const SlotScratchBytes& need) {
  SlotScratchBytes& have = ctx->reserved;
  if (num_slots <= ctx->reserved_slots && need.a_panels <= have.a_panels &&
      need.row_offsets <= have.row_offsets &&
      need.col_params <= have.col_params && need.b_panels <= have.b_panels &&
      need.b_sums <= have.b_sums && need.b_ready <= have.b_ready &&
      need.b_stolen <= have.b_stolen) {
    return true;
  }
  SlotScratchBytes grown;
  grown.a_panels = std::max(need.a_panels, have.a_panels);
  grown.row_offsets = std::max(need.row_offsets, have.row_offsets);
  grown.col_params = std::max(need.col_params, have.col_params);
  grown.b_panels = std::max(need.b_panels, have.b_panels);
  grown.b_sums = std::max(need.b_sums, have.b_sums);
  grown.b_ready = std::max(need.b_ready, have.b_ready);
  grown.b_stolen = std::max(need.b_stolen, have.b_stolen);
  const size_t slots = std::max(num_slots, ctx->reserved_slots);
  for (size_t w = 0; w < slots; ++w) {
    WorkerScratch& scratch = ctx->workers[w];
    if (!scratch.a_panels.Reserve(grown.a_panels) ||
        !scratch.row_offsets.Reserve(grown.row_offsets) ||
        !scratch.col_params.Reserve(grown.col_params) ||
        !scratch.b_panels.Reserve(grown.b_panels) ||
        !scratch.b_sums.Reserve(grown.b_sums) ||
        !scratch.b_ready.Reserve(grown.b_ready) ||
        !scratch.b_stolen.Reserve(grown.b_stolen)) {
      return false;
    }
  }
  ctx->reserved_slots = slots;
  have = grown;
  return true;
}

}  // namespace

void SplitEveryCallForTesting(bool on) {
  g_split_every_call.store(on, std::memory_order_relaxed);
}

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
  const size_t threads =
      ctx != nullptr ? static_cast<size_t>(std::max(ctx->num_threads, 1)) : 1;
  const size_t slots = SlotsForWork(
      static_cast<double>(k) * static_cast<double>(n) * kNsPerPackedByte,
      threads);
  // Tasks of whole cache lines: no line of panels or column sums is
  // written by two tasks.
  size_t line_panels = 1;
  while ((line_panels * s.panel_bytes) % kCacheLine != 0 ||
         (line_panels * table.nr * sizeof(int32_t)) % kCacheLine != 0) {
    ++line_panels;
  }
  // Groups no wider than one slot's share, so every slot packs.
  const size_t group = nk_layout ? 1
                                 : std::min(kPackBGroupBytes / table.nr,
                                            DivCeil(num_panels, slots));
  s.panels_per_task =
      DivCeil(std::max<size_t>(1, group), line_panels) * line_panels;
  const size_t tasks = DivCeil(num_panels, s.panels_per_task);
  if (ctx != nullptr) {
    ParallelFor(ctx, tasks, PackBTask, &s, /*kernel_hooks_of=*/nullptr, slots);
  } else {
    for (size_t t = 0; t < tasks; ++t) PackBTask(&s, t, 0);
  }
  return s.variant;
}

namespace {

// C = output(A x B) for packed B, or with `unpacked` for B at b_src with
// ldb (b's panels and sums null: the slots pack it).
qgemm_status RunGemmOn(qgemm_context* ctx, size_t m, const uint8_t* a,
                       size_t lda, uint8_t a_zero_point, const PackedBView& b,
                       bool unpacked, const uint8_t* b_src, size_t ldb,
                       const OutputSpec& out) {
  const KernelTable& t = *b.table;
  const size_t mr = t.mr, nr = t.nr;
  const size_t n_padded = b.num_panels * nr;
  const size_t k = b.k;

  GemmState s;
  s.ctx = ctx;
  s.table = &t;
  s.call = ++ctx->calls;
  s.b = b;
  s.out = out;
  s.clamp = {out.c_zero_point, out.c_min, out.c_max};
  s.m = m;
  s.k = k;
  s.a = a;
  s.lda = lda;
  s.row_sum_factor =
      t.b_packed_offset[b.variant] - static_cast<int32_t>(b.zero_point);
  s.a_panel_bytes = t.a_panel_bytes(b.k_padded);
  // In place when the table can, no depth padding is needed, and B has few
  // panels: a panel of A is then summed, not copied (kernel_table.h,
  // sum_a_rows). Packing pays off once an A panel meets many B panels: its
  // tiles then read one contiguous stream instead of MR rows. Measured on
  // avx512vnni (Zen 5, single thread, packed B): in place 3136x64x576 +10%,
  // 64^3 +5%, 128^3 +3%, 256^3 +2% (8 panels), 384x768x768 even (24),
  // 1024^3 -4.5% (32), 128x4096x4096 -5% (128). GEMV (m <= 4) reads A in
  // place whatever B's width: a packed panel of so few rows is mostly zero
  // padding the kernel reads beside every B group (8 rows' quads for 1),
  // and at K = 4096 it no longer fits L1. A table whose loads take a stride
  // anyway (AMX) reads in place at any width (a_in_place_any_width).
  s.a_in_place = t.sum_a_rows != nullptr && k != 0 && k == b.k_padded &&
                 (b.num_panels <= kMaxInPlaceBPanels || m <= kMaxDotRows ||
                  t.a_in_place_any_width);
  s.za = a_zero_point;
  s.kzz = static_cast<uint32_t>(k) * a_zero_point * b.zero_point;
  s.n_padded = n_padded;
  s.unpacked = unpacked;
  s.b_src = b_src;
  s.ldb = ldb;
  s.split = ChooseGemmSplit(t, b, unpacked, m, s.a_panel_bytes,
                            OutputElementBytes(out.kind),
                            static_cast<size_t>(ctx->num_threads));
  const GemmSplit& g = s.split;
  const size_t num_slots = g.tm * g.tn;
  const size_t rect_granules = DivCeil(g.n_granules, g.tn);
  s.col_blocks = DivCeil(rect_granules, g.nc_granules);

  SlotScratchBytes need;
  need.a_panels = g.mc_panels * s.a_panel_bytes;
  need.row_offsets = g.mc_panels * mr * sizeof(int32_t);
  need.col_params = kColumnArrays * n_padded * sizeof(int32_t);
  if (unpacked) {
    const size_t rect_panels = std::min(g.n_panels, rect_granules * g.granule);
    const size_t block_panels = g.nc_granules * g.granule;
    need.b_panels = rect_panels * b.panel_bytes;
    need.b_sums = rect_panels * nr * sizeof(int32_t);
    need.b_ready = s.col_blocks;
    need.b_stolen = StolenSumsOffset(g, b.panel_bytes) +
                    block_panels * nr * sizeof(int32_t);
  }
  if (!ReserveSlotScratch(ctx, num_slots, need)) return QGEMM_OUT_OF_MEMORY;
  s.first_item[0] = 0;
  for (size_t slot = 0; slot < num_slots; ++slot) {
    Range rows, granules;
    RectOf(g, slot, &rows, &granules);
    s.first_item[slot + 1] = s.first_item[slot] + ItemsOf(g, rows, granules);
  }
  ParallelForSlots(ctx, static_cast<int>(num_slots), s.first_item,
                   GemmBlockItem, &s, &t);
  return QGEMM_OK;
}

}  // namespace

qgemm_status RunGemm(qgemm_context* ctx, size_t m, const uint8_t* a, size_t lda,
                     uint8_t a_zero_point, const PackedBView& b,
                     const OutputSpec& out) {
  return RunGemmOn(ctx, m, a, lda, a_zero_point, b, /*unpacked=*/false, nullptr,
                   0, out);
}

qgemm_status RunGemmUnpacked(qgemm_context* ctx, size_t m, size_t n, size_t k,
                             const uint8_t* a, size_t lda, uint8_t a_zero_point,
                             const uint8_t* b, size_t ldb, uint8_t b_zero_point,
                             const OutputSpec& out) {
  const KernelTable& t = *ctx->table;
  PackedBView view;
  size_t total;
  if (!PackedBSizes(t, k, n, &view.k_padded, &view.num_panels,
                    &view.panel_bytes, &total)) {
    return QGEMM_INVALID_ARGUMENT;
  }
  view.table = &t;
  // An empty B (k or n zero) may be NULL with any ldb: kernels never see it.
  view.variant = t.choose_variant && k != 0 && n != 0
                     ? t.choose_variant(k, n, b, ldb, /*nk_layout=*/0)
                     : 0;
  view.k = k;
  view.n = n;
  view.panels = nullptr;
  view.col_sums = nullptr;
  view.zero_point = b_zero_point;
  return RunGemmOn(ctx, m, a, lda, a_zero_point, view, /*unpacked=*/true, b,
                   ldb, out);
}

namespace {

// Column blocks of the dot-rows path: a block's (m + 1) x 2048 int32 sums
// (40 KiB at m = 4) stay in L1/L2 while B's rows stream past, 2 KiB of each row
// at a time.
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
  // In the caller's slot's column scratch; the tasks only read it.
  const size_t n_padded = DivCeil(n, nr) * nr;
  ScratchBuffer& col_params = ctx->workers[0].col_params;
  if (!col_params.Reserve(kColumnArrays * n_padded * sizeof(int32_t))) {
    return QGEMM_OUT_OF_MEMORY;
  }
  ctx->workers[0].cols_begin = ctx->workers[0].cols_end = 0;  // overwritten
  ExpandColumnRange(out, n, n_padded, 0, n_padded, /*col_sums=*/nullptr, 0, 0,
                    col_params.data());
  s.all.cols = ColumnArrays(col_params.data(), n_padded);
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
  const size_t sum_bytes = (m + 1) * s.block * sizeof(int32_t);
  for (WorkerScratch& w : ctx->workers) {
    if (!w.a_panels.Reserve(sum_bytes)) return QGEMM_OUT_OF_MEMORY;
  }
  ParallelFor(ctx, DivCeil(n, s.block), DotRowsTask, &s, &t);
  return QGEMM_OK;
}

}  // namespace qgemm

// A C++ model of the AMX tile instructions the AMX kernels use, for running
// kernels/amx/gemm_32x32.inl on CPUs without AMX (tests/emulated/
// amx_model.cc). It replaces GCC's _tile_* intrinsics by name, after
// <immintrin.h> (which defines them whatever the flags).
//
// Architectural state per thread, as in the Intel SDM (vol. 2, "LDTILECFG",
// "TILELOADD", "TILESTORED", "TILEZERO", "TDPBSSD/TDPBSUD/TDPBUSD/TDPBUUD",
// "TILERELEASE"): 8 tile registers of up to 16 rows x 64 bytes, each with
// the rows and bytes per row (colsb) of the loaded configuration, and
// whether tiles are configured. What the hardware faults on (#GP on a bad
// configuration, #UD on a tile instruction without one or on mismatched
// shapes) aborts here with the reason, so a kernel that would fault on AMX
// fails its test instead of passing on the model.
//   LDTILECFG   palette 0: back to the initial state. Palette 1: rows <= 16
//               and colsb <= 64 per tile 0..7, both zero or both non-zero,
//               tiles 8..15 and the reserved bytes zero; start_row must be
//               0 (the model does not resume interrupted loads). Every tile
//               is zeroed.
//   TILELOADD   rows [0, rows) get colsb bytes from base + r * stride; the
//               rest of the register is zeroed.
//   TILESTORED  rows [0, rows), colsb bytes each, to base + r * stride.
//   TDPB[SU][SU]D dst, a, b: shapes must agree (a.rows = dst.rows,
//               a.colsb = 4 b.rows, b.colsb = dst.colsb, all colsb multiples
//               of 4) and the three registers differ; then per row m < rows
//               and dword n < colsb / 4 of dst:
//                 dst[m][n] += sum_{k < a.colsb / 4} sum_{q < 4}
//                              ext(a[m][4k+q]) * ext(b[k][4n+q])
//               with 32-bit wrap-around (the products are exact; the SDM's
//               DPBD adds them in 32-bit arithmetic). ext is zero or sign
//               extension by the instruction's letters (first: a, second:
//               b). Bytes past colsb and rows past rows of dst are zeroed.
//   TILERELEASE the initial state: unconfigured, every tile zero.
//
// Included by one translation unit per build: the state and the functions
// have internal linkage (docs/design.md, "Building per-ISA code").
#ifndef QGEMM_TESTS_EMULATED_AMX_TILE_MODEL_H_
#define QGEMM_TESTS_EMULATED_AMX_TILE_MODEL_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace qgemm {
namespace {
namespace amx_model {

constexpr int kTiles = 8;
constexpr int kMaxRows = 16;
constexpr int kMaxColsb = 64;

struct TileState {
  bool configured = false;
  uint8_t rows[kTiles] = {};
  uint16_t colsb[kTiles] = {};
  uint8_t data[kTiles][kMaxRows][kMaxColsb] = {};
};

thread_local TileState t_state;

// How many tile instructions of each kind this thread ran (the model's own
// tests look at them).
struct Counts {
  uint64_t configs, loads, stores, zeros, dps, releases;
};
thread_local Counts t_counts = {};

// The model's own tests set this to a function that throws, to check each
// fault without a death test (those re-exec the binary, which qemu-user
// cannot). Null: abort.
thread_local void (*t_fault_hook)(const char* what) = nullptr;

[[noreturn]] inline void Fault(const char* what) {
  if (t_fault_hook != nullptr) t_fault_hook(what);
  std::fprintf(stderr, "AMX tile model: %s\n", what);
  std::fflush(stderr);
  std::abort();
}

inline void CheckTile(int tile) {
  if (tile < 0 || tile >= kTiles) Fault("#UD: no such tile register");
  if (!t_state.configured) Fault("#UD: tile instruction without LDTILECFG");
}

inline void LoadConfig(const void* config) {
  uint8_t bytes[64];
  std::memcpy(bytes, config, sizeof bytes);
  ++t_counts.configs;
  const uint8_t palette = bytes[0];
  if (palette == 0) {
    t_state = TileState();
    return;
  }
  if (palette != 1) Fault("#GP: LDTILECFG palette not supported");
  if (bytes[1] != 0) Fault("LDTILECFG start_row != 0 (not modelled)");
  for (int i = 2; i < 16; ++i) {
    if (bytes[i] != 0) Fault("#GP: LDTILECFG reserved bytes not zero");
  }
  TileState next;
  for (int t = 0; t < 16; ++t) {
    const uint16_t colsb =
        static_cast<uint16_t>(bytes[16 + 2 * t] | (bytes[17 + 2 * t] << 8));
    const uint8_t rows = bytes[48 + t];
    if (t >= kTiles) {
      if (colsb != 0 || rows != 0) Fault("#GP: palette 1 has 8 tiles");
      continue;
    }
    if (rows > kMaxRows || colsb > kMaxColsb) Fault("#GP: tile too large");
    if ((rows == 0) != (colsb == 0)) Fault("#GP: half-configured tile");
    next.rows[t] = rows;
    next.colsb[t] = colsb;
  }
  next.configured = true;
  t_state = next;
}

inline void Release() {
  ++t_counts.releases;
  t_state = TileState();
}

inline void Zero(int tile) {
  CheckTile(tile);
  ++t_counts.zeros;
  std::memset(t_state.data[tile], 0, sizeof t_state.data[tile]);
}

inline void LoadD(int tile, const void* base, long stride) {
  CheckTile(tile);
  ++t_counts.loads;
  const int rows = t_state.rows[tile];
  const int colsb = t_state.colsb[tile];
  if (rows == 0) Fault("#UD: TILELOADD of an unconfigured tile");
  const auto* src = static_cast<const uint8_t*>(base);
  std::memset(t_state.data[tile], 0, sizeof t_state.data[tile]);
  for (int r = 0; r < rows; ++r) {
    std::memcpy(t_state.data[tile][r], src + static_cast<ptrdiff_t>(r) * stride,
                static_cast<size_t>(colsb));
  }
}

inline void StoreD(int tile, void* base, long stride) {
  CheckTile(tile);
  ++t_counts.stores;
  const int rows = t_state.rows[tile];
  const int colsb = t_state.colsb[tile];
  if (rows == 0) Fault("#UD: TILESTORED of an unconfigured tile");
  auto* dst = static_cast<uint8_t*>(base);
  for (int r = 0; r < rows; ++r) {
    std::memcpy(dst + static_cast<ptrdiff_t>(r) * stride, t_state.data[tile][r],
                static_cast<size_t>(colsb));
  }
}

// TDPB<kSignedA><kSignedB>D dst, a, b.
template <bool kSignedA, bool kSignedB>
void DotProduct(int dst, int a, int b) {
  CheckTile(dst);
  CheckTile(a);
  CheckTile(b);
  ++t_counts.dps;
  if (dst == a || dst == b || a == b) Fault("#UD: TDP tiles not distinct");
  const TileState& s = t_state;
  if (s.rows[dst] == 0 || s.rows[a] == 0 || s.rows[b] == 0) {
    Fault("#UD: TDP on an unconfigured tile");
  }
  if (s.colsb[dst] % 4 != 0 || s.colsb[a] % 4 != 0 || s.colsb[b] % 4 != 0 ||
      s.rows[a] != s.rows[dst] || s.colsb[a] != 4 * s.rows[b] ||
      s.colsb[b] != s.colsb[dst]) {
    Fault("#UD: TDP tile shapes do not agree");
  }
  const int rows = s.rows[dst], n_dwords = s.colsb[dst] / 4;
  const int k_dwords = s.colsb[a] / 4;
  uint8_t(&c)[kMaxRows][kMaxColsb] = t_state.data[dst];
  const uint8_t(&x)[kMaxRows][kMaxColsb] = s.data[a];
  const uint8_t(&y)[kMaxRows][kMaxColsb] = s.data[b];
  for (int m = 0; m < rows; ++m) {
    uint32_t acc[kMaxColsb / 4];
    std::memcpy(acc, c[m], sizeof acc);
    for (int k = 0; k < k_dwords; ++k) {
      int32_t av[4];
      for (int q = 0; q < 4; ++q) {
        av[q] = kSignedA ? static_cast<int8_t>(x[m][4 * k + q])
                         : static_cast<int32_t>(x[m][4 * k + q]);
      }
      for (int n = 0; n < n_dwords; ++n) {
        // Four products, each |.| <= 2^16, sum exactly in int32; their sum
        // then wraps into the element (the same value modulo 2^32 as
        // adding them one by one).
        int32_t four = 0;
        for (int q = 0; q < 4; ++q) {
          const int32_t bv = kSignedB ? static_cast<int8_t>(y[k][4 * n + q])
                                      : static_cast<int32_t>(y[k][4 * n + q]);
          four += av[q] * bv;
        }
        acc[n] += static_cast<uint32_t>(four);
      }
    }
    std::memcpy(c[m], acc, static_cast<size_t>(4 * n_dwords));
    std::memset(&c[m][4 * n_dwords], 0,
                static_cast<size_t>(kMaxColsb - 4 * n_dwords));
  }
  for (int m = rows; m < kMaxRows; ++m) std::memset(c[m], 0, kMaxColsb);
}

}  // namespace amx_model
}  // namespace
}  // namespace qgemm

// GCC's intrinsics are macros (the tile number is pasted into the
// instruction); these take the same arguments.
#undef _tile_loadd
#undef _tile_stream_loadd
#undef _tile_stored
#undef _tile_zero
#undef _tile_dpbusd
#undef _tile_dpbuud
#undef _tile_dpbssd
#undef _tile_dpbsud
#define _tile_loadconfig(config) ::qgemm::amx_model::LoadConfig(config)
#define _tile_release() ::qgemm::amx_model::Release()
#define _tile_zero(tile) ::qgemm::amx_model::Zero(tile)
#define _tile_loadd(tile, base, stride) \
  ::qgemm::amx_model::LoadD(tile, base, static_cast<long>(stride))
#define _tile_stored(tile, base, stride) \
  ::qgemm::amx_model::StoreD(tile, base, static_cast<long>(stride))
#define _tile_dpbusd(dst, a, b) \
  ::qgemm::amx_model::DotProduct<false, true>(dst, a, b)
#define _tile_dpbuud(dst, a, b) \
  ::qgemm::amx_model::DotProduct<false, false>(dst, a, b)
#define _tile_dpbssd(dst, a, b) \
  ::qgemm::amx_model::DotProduct<true, true>(dst, a, b)
#define _tile_dpbsud(dst, a, b) \
  ::qgemm::amx_model::DotProduct<true, false>(dst, a, b)

#endif  // QGEMM_TESTS_EMULATED_AMX_TILE_MODEL_H_

// The parts of a NEON kernel table that only its tile shape decides, shared
// by kernels/neon/ and kernels/neondot/: both pack A and B as lines of KR
// depth bytes (pack.h), hand each row of raw tile sums, still in registers,
// to the NEON output stage (register_output.h) and serve unpacked GEMV with
// DotRowsKN. A kernel file supplies its register tile as a class Tile with
//
//   template <class Output> static void Run(const TileArgs& t);
//
// which computes rows [0, m_eff) of the tile (compiled per m_eff, so a
// small m_eff does only its rows' work) and calls Output::Row for each
// (Output is one of register_output.h's classes for NR / 4 vectors).
//
// Each kernel file instantiates LineKernel with its own Tile from an
// anonymous namespace, which is also the output classes' FileTag, so every
// instantiation has internal linkage and is compiled with that file's flags
// only: nothing built with +dotprod can stand in for the baseline NEON copy
// (docs/design.md, "Building per-ISA code").
#ifndef QGEMM_KERNELS_NEON_LINE_KERNEL_H_
#define QGEMM_KERNELS_NEON_LINE_KERNEL_H_

#include <cstddef>
#include <cstdint>

#include "dispatch/kernel_table.h"
#include "kernels/neon/pack.h"
#include "kernels/neon/register_output.h"

namespace qgemm {
namespace neon {

template <size_t kMR, size_t kNR, size_t kKR, class Tile>
struct LineKernel {
  static_assert(kNR <= kMaxColumnLines, "PackColumnLines' column sums");
  static_assert(kNR % 4 == 0, "whole vectors of 4 columns");

  static void GemmU8Tile(const TileArgs* t) {
    Tile::template Run<U8RowOutput<kNR / 4, Tile>>(*t);
  }
  static void GemmS32Tile(const TileArgs* t) {
    Tile::template Run<S32RowOutput<kNR / 4, Tile>>(*t);
  }
  static void GemmF32Tile(const TileArgs* t) {
    Tile::template Run<F32RowOutput<kNR / 4, Tile>>(*t);
  }

  static size_t APanelBytes(size_t k_padded) { return kMR * k_padded; }
  static size_t BPanelBytes(size_t k_padded) { return kNR * k_padded; }

  static void PackA(uint32_t /*variant*/, size_t k, size_t m_eff,
                    const uint8_t* a, size_t lda, void* panel,
                    int32_t* row_sums) {
    PackRowLines<kKR>(kMR, k, m_eff, a, lda, static_cast<uint8_t*>(panel),
                      row_sums);
  }

  static void PackB(uint32_t /*variant*/, size_t k, size_t n_eff,
                    const uint8_t* b, size_t ldb, int nk_layout, void* panel,
                    int32_t* col_sums) {
    auto* dst = static_cast<uint8_t*>(panel);
    if (nk_layout) {
      PackRowLines<kKR>(kNR, k, n_eff, b, ldb, dst, col_sums);
    } else {
      PackColumnLines<kKR>(kNR, k, n_eff, b, ldb, dst, col_sums);
    }
  }

  // One exact variant; B is packed as is (no offset).
  static constexpr KernelTable Table(const char* isa, uint32_t packing_format) {
    return {isa,
            packing_format,
            kMR,
            kNR,
            kKR,
            APanelBytes,
            BPanelBytes,
            /*choose_variant=*/nullptr,
            PackA,
            PackB,
            /*b_packed_offset=*/{0, 0},
            {GemmU8Tile, nullptr},
            {GemmS32Tile, nullptr},
            {GemmF32Tile, nullptr},
            /*dot_rows_kn=*/DotRowsKN,
            /*dot_rows_nr=*/kDotRowsNR};
  }
};

}  // namespace neon
}  // namespace qgemm

#endif  // QGEMM_KERNELS_NEON_LINE_KERNEL_H_

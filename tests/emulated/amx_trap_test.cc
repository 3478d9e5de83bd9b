// The SIGILL tile trap (amx_trap.h): its decoder against the GNU
// assembler's encodings, and each tile instruction, compiled from GCC's
// intrinsics (this file is built with -mamx-tile -mamx-int8), against the
// SDM's formulas written out here. On a CPU without AMX the instructions
// go through the trap, and the test also counts that each one did; on a
// CPU with AMX (and Linux's permission) they run on the hardware, so the
// same test then checks the tile model against the real tile unit.
#include "tests/emulated/amx_trap.h"

// Only the tile intrinsics are used here: GCC 12.2's AVX-512 header
// warnings (kernels/avx512vnni/gemm_8x32.cc) do not arise.
#include <gtest/gtest.h>
#include <immintrin.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "dispatch/cpu.h"
#include "dispatch/isa.h"
#include "tests/emulated/tile_config.h"
#include "tests/gemm_case.h"
#include "tests/tables_under_test.h"

namespace qgemm_test {
namespace {

using Op = AmxInstruction::Op;

struct Encoded {
  std::vector<uint8_t> bytes;  // from `as` and `objdump -d`
  const char* text;
  AmxInstruction want;
};

AmxInstruction Insn(Op op, int length, int tile, int base, int index,
                    int32_t disp) {
  AmxInstruction i;
  i.op = op;
  i.length = length;
  i.tile = tile;
  i.base = base;
  i.index = index;
  i.disp = disp;
  return i;
}

AmxInstruction Tdp(int dst, int a, int b, bool signed_a, bool signed_b) {
  AmxInstruction i = Insn(Op::kDotProduct, 5, dst, -1, -1, 0);
  i.tile_a = a;
  i.tile_b = b;
  i.signed_a = signed_a;
  i.signed_b = signed_b;
  return i;
}

// Register numbers: rax 0, rcx 1, rdx 2, rbx 3, rsp 4, rbp 5, rsi 6, rdi 7,
// r8..r15 8..15.
std::vector<Encoded> AssemblerListing() {
  AmxInstruction rip = Insn(Op::kLoadConfig, 9, 0, -1, -1, 0x6b);
  rip.rip_relative = true;
  return {
      {{0xc4, 0xe2, 0x78, 0x49, 0x07},
       "ldtilecfg (%rdi)",
       Insn(Op::kLoadConfig, 5, 0, 7, -1, 0)},
      {{0xc4, 0xe2, 0x78, 0x49, 0x44, 0x24, 0x40},
       "ldtilecfg 0x40(%rsp)",
       Insn(Op::kLoadConfig, 7, 0, 4, -1, 0x40)},
      {{0xc4, 0xc2, 0x78, 0x49, 0x84, 0x24, 0x45, 0x23, 0x01, 0x00},
       "ldtilecfg 0x12345(%r12)",
       Insn(Op::kLoadConfig, 10, 0, 12, -1, 0x12345)},
      {{0xc4, 0xe2, 0x78, 0x49, 0x05, 0x6b, 0x00, 0x00, 0x00},
       "ldtilecfg 0x6b(%rip)",
       rip},
      {{0xc4, 0xe2, 0x79, 0x49, 0x06},
       "sttilecfg (%rsi)",
       Insn(Op::kStoreConfig, 5, 0, 6, -1, 0)},
      {{0xc4, 0xe2, 0x78, 0x49, 0xc0},
       "tilerelease",
       Insn(Op::kRelease, 5, 0, -1, -1, 0)},
      {{0xc4, 0xe2, 0x7b, 0x49, 0xc0},
       "tilezero %tmm0",
       Insn(Op::kZero, 5, 0, -1, -1, 0)},
      {{0xc4, 0xe2, 0x7b, 0x49, 0xf8},
       "tilezero %tmm7",
       Insn(Op::kZero, 5, 7, -1, -1, 0)},
      {{0xc4, 0xe2, 0x7b, 0x4b, 0x24, 0x18},
       "tileloadd (%rax,%rbx,1),%tmm4",
       Insn(Op::kLoad, 6, 4, 0, 3, 0)},
      {{0xc4, 0x82, 0x7b, 0x4b, 0x74, 0x31, 0x40},
       "tileloadd 0x40(%r9,%r14,1),%tmm6",
       Insn(Op::kLoad, 7, 6, 9, 14, 0x40)},
      {{0xc4, 0x82, 0x7b, 0x4b, 0xbc, 0x05, 0x00, 0x10, 0x00, 0x00},
       "tileloadd 0x1000(%r13,%r8,1),%tmm7",
       Insn(Op::kLoad, 10, 7, 13, 8, 0x1000)},
      {{0xc4, 0xe2, 0x7b, 0x4b, 0x2c, 0x0c},
       "tileloadd (%rsp,%rcx,1),%tmm5",
       Insn(Op::kLoad, 6, 5, 4, 1, 0)},
      {{0xc4, 0xe2, 0x7b, 0x4b, 0x6c, 0x0d, 0x00},
       "tileloadd 0x0(%rbp,%rcx,1),%tmm5",
       Insn(Op::kLoad, 7, 5, 5, 1, 0)},
      {{0xc4, 0xc2, 0x7b, 0x4b, 0x6c, 0x0d, 0x00},
       "tileloadd 0x0(%r13,%rcx,1),%tmm5",
       Insn(Op::kLoad, 7, 5, 13, 1, 0)},
      {{0xc4, 0xe2, 0x79, 0x4b, 0x0c, 0x18},
       "tileloaddt1 (%rax,%rbx,1),%tmm1",
       Insn(Op::kLoad, 6, 1, 0, 3, 0)},
      {{0xc4, 0xe2, 0x7a, 0x4b, 0x04, 0x02},
       "tilestored %tmm0,(%rdx,%rax,1)",
       Insn(Op::kStore, 6, 0, 2, 0, 0)},
      {{0xc4, 0x82, 0x7a, 0x4b, 0x5c, 0x1f, 0xf8},
       "tilestored %tmm3,-0x8(%r15,%r11,1)",
       Insn(Op::kStore, 7, 3, 15, 11, -8)},
      {{0xc4, 0xe2, 0x49, 0x5e, 0xc4},
       "tdpbusd %tmm6,%tmm4,%tmm0",
       Tdp(0, 4, 6, false, true)},
      {{0xc4, 0xe2, 0x41, 0x5e, 0xdd},
       "tdpbusd %tmm7,%tmm5,%tmm3",
       Tdp(3, 5, 7, false, true)},
      {{0xc4, 0xe2, 0x48, 0x5e, 0xc4},
       "tdpbuud %tmm6,%tmm4,%tmm0",
       Tdp(0, 4, 6, false, false)},
      {{0xc4, 0xe2, 0x4b, 0x5e, 0xc4},
       "tdpbssd %tmm6,%tmm4,%tmm0",
       Tdp(0, 4, 6, true, true)},
      {{0xc4, 0xe2, 0x4a, 0x5e, 0xc4},
       "tdpbsud %tmm6,%tmm4,%tmm0",
       Tdp(0, 4, 6, true, false)},
  };
}

TEST(AmxTrap, DecodesWhatTheAssemblerEncodes) {
  for (const Encoded& e : AssemblerListing()) {
    std::vector<uint8_t> code = e.bytes;
    code.resize(16, 0x90);  // what follows must not be read as part of it
    AmxInstruction got;
    got.length = -1;
    ASSERT_TRUE(DecodeAmxInstruction(code.data(), &got)) << e.text;
    const AmxInstruction& w = e.want;
    EXPECT_EQ(got.op, w.op) << e.text;
    EXPECT_EQ(got.length, static_cast<int>(e.bytes.size())) << e.text;
    EXPECT_EQ(got.length, w.length) << e.text;
    if (w.op == Op::kDotProduct) {
      EXPECT_EQ(got.tile, w.tile) << e.text;
      EXPECT_EQ(got.tile_a, w.tile_a) << e.text;
      EXPECT_EQ(got.tile_b, w.tile_b) << e.text;
      EXPECT_EQ(got.signed_a, w.signed_a) << e.text;
      EXPECT_EQ(got.signed_b, w.signed_b) << e.text;
      continue;
    }
    if (w.op == Op::kZero || w.op == Op::kLoad || w.op == Op::kStore) {
      EXPECT_EQ(got.tile, w.tile) << e.text;
    }
    if (w.op == Op::kZero || w.op == Op::kRelease) continue;
    EXPECT_EQ(got.base, w.base) << e.text;
    EXPECT_EQ(got.index, w.index) << e.text;
    EXPECT_EQ(got.scale, 1) << e.text;
    EXPECT_EQ(got.disp, w.disp) << e.text;
    EXPECT_EQ(got.rip_relative, w.rip_relative) << e.text;
  }
}

// Encodings the hardware refuses (#UD) or that are other instructions are
// not carried out: the handler then lets the SIGILL kill the process.
TEST(AmxTrap, RefusesWhatIsNotATileInstruction) {
  const std::vector<std::vector<uint8_t>> kNot = {
      {0xc5, 0xf8, 0x77, 0x90, 0x90},        // vzeroupper (2-byte VEX)
      {0x0f, 0x0b, 0x90, 0x90, 0x90},        // ud2
      {0xc4, 0xe2, 0x7c, 0x49, 0xc0},        // tilerelease with VEX.L = 1
      {0xc4, 0xe2, 0xf8, 0x49, 0xc0},        // tilerelease with VEX.W = 1
      {0xc4, 0xe1, 0x78, 0x49, 0xc0},        // map 0F, not 0F38
      {0xc4, 0xe2, 0x70, 0x49, 0xc0},        // tilerelease with vvvv != 1111
      {0xc4, 0x62, 0x7b, 0x49, 0xc0},        // tilezero %tmm8 (VEX.R)
      {0xc4, 0xe2, 0x7b, 0x4b, 0x20, 0x90},  // tileloadd without a SIB
      {0xc4, 0xe2, 0x78, 0x4b, 0x24, 0x18},  // 4B with VEX.pp = NP
      {0xc4, 0xe2, 0x7b, 0x4b, 0xe0, 0x90},  // 4B, register operand
      {0xc4, 0xe2, 0x49, 0x5e, 0x04, 0x18},  // tdp on memory
      {0xc4, 0xe2, 0x09, 0x5e, 0xc4},        // tdp, vvvv names tmm14
      {0xc4, 0xe2, 0x79, 0x1c, 0xc1},        // vpabsb: map 0F38, not AMX
  };
  for (const auto& bytes : kNot) {
    std::vector<uint8_t> code = bytes;
    code.resize(16, 0x90);
    AmxInstruction got;
    EXPECT_FALSE(DecodeAmxInstruction(code.data(), &got))
        << "bytes " << testing::PrintToString(bytes);
  }
}

// "" when this thread may run tile instructions: through the trap (no AMX
// here), or on the tile unit (AMX, and Linux granted the tile state through
// the amx table's enable hook).
std::string TileInstructionsRunHere(bool* trapped) {
  const std::string why_no_trap = InstallAmxTrap();
  *trapped = why_no_trap.empty();
  if (*trapped) return "";
  const qgemm::IsaEntry* amx = qgemm::FindIsa("amx");
  std::string why;
  if (amx != nullptr && qgemm::IsaUsable(*amx, qgemm::DetectedCpu(), &why)) {
    return "";
  }
  return why_no_trap + "; and the tile unit cannot run them: " + why;
}

// C (rows x n int32) += A (rows x 4k bytes) . B (k rows of 4n bytes, four
// consecutive depths per column), each byte zero- or sign-extended as the
// instruction's letters say, the sum taken in int64 and wrapped at the end.
void DotProductFormula(std::vector<int32_t>* c, int ldc, const uint8_t* a,
                       int lda, const uint8_t* b, int ldb, int rows, int k,
                       int n, bool signed_a, bool signed_b) {
  for (int m = 0; m < rows; ++m) {
    for (int j = 0; j < n; ++j) {
      int64_t sum = (*c)[m * ldc + j];
      for (int d = 0; d < 4 * k; ++d) {
        const uint8_t ar = a[m * lda + d];
        const uint8_t br = b[(d / 4) * ldb + 4 * j + d % 4];
        const int64_t av = signed_a ? static_cast<int8_t>(ar) : ar;
        const int64_t bv = signed_b ? static_cast<int8_t>(br) : br;
        sum += av * bv;
      }
      (*c)[m * ldc + j] = static_cast<int32_t>(
          static_cast<uint32_t>(static_cast<uint64_t>(sum) & 0xFFFFFFFFu));
    }
  }
}

// Each instruction once, with tiles of every shape the kernels use and
// some they do not (short rows, narrow columns), operands in strided
// buffers, all four signedness letters, and C starting from a load (not
// zero), so that every field of the decoding and the model's semantics
// shows in the bytes stored.
TEST(AmxTrap, EachTileInstructionMatchesTheArchitecturalFormula) {
  bool trapped = false;
  const std::string why = TileInstructionsRunHere(&trapped);
  if (!why.empty()) GTEST_SKIP() << why;
  std::mt19937 rng(2026);
  struct Shape {
    int rows, k, n;  // C rows x n dwords, depth 4k
  };
  for (const Shape s : {Shape{16, 16, 16}, Shape{7, 16, 16}, Shape{16, 5, 9},
                        Shape{1, 1, 1}, Shape{13, 11, 3}}) {
    for (int letters = 0; letters < 4; ++letters) {
      const bool signed_a = (letters & 2) != 0, signed_b = (letters & 1) != 0;
      const int lda = 4 * s.k + 24, ldb = 4 * s.n + 40, ldc = s.n + 5;
      std::vector<uint8_t> a(static_cast<size_t>(s.rows * lda));
      std::vector<uint8_t> b(static_cast<size_t>(s.k * ldb));
      std::vector<int32_t> c0(static_cast<size_t>(s.rows * ldc));
      for (uint8_t& v : a) v = static_cast<uint8_t>(rng());
      for (uint8_t& v : b) v = static_cast<uint8_t>(rng());
      for (int32_t& v : c0) v = static_cast<int32_t>(rng());
      std::vector<int32_t> want = c0;
      DotProductFormula(&want, ldc, a.data(), lda, b.data(), ldb, s.rows, s.k,
                        s.n, signed_a, signed_b);
      // Stored C: the padding columns keep a sentinel (TILESTORED writes
      // only colsb bytes of each row).
      std::vector<int32_t> got(c0.size(), 0x5A5A5A5A);
      std::vector<int32_t> zeroed(c0.size(), 0x5A5A5A5A);
      TileConfig cfg;
      cfg.rows[1] = cfg.rows[2] = cfg.rows[5] = static_cast<uint8_t>(s.rows);
      cfg.colsb[1] = cfg.colsb[5] = static_cast<uint16_t>(4 * s.n);
      cfg.colsb[2] = static_cast<uint16_t>(4 * s.k);
      cfg.rows[3] = static_cast<uint8_t>(s.k);
      cfg.colsb[3] = static_cast<uint16_t>(4 * s.n);
      const uint64_t before = AmxInstructionsTrapped();
      asm volatile("" ::: "memory");  // the buffers, before the tile loads
      _tile_loadconfig(&cfg);
      _tile_loadd(1, c0.data(), 4 * ldc);
      _tile_loadd(2, a.data(), lda);
      _tile_loadd(3, b.data(), ldb);
      switch (letters) {
        case 0:
          _tile_dpbuud(1, 2, 3);
          break;
        case 1:
          _tile_dpbusd(1, 2, 3);
          break;
        case 2:
          _tile_dpbsud(1, 2, 3);
          break;
        default:
          _tile_dpbssd(1, 2, 3);
          break;
      }
      _tile_stored(1, got.data(), 4 * ldc);
      _tile_zero(5);
      _tile_stored(5, zeroed.data(), 4 * ldc);
      _tile_release();
      asm volatile("" ::: "memory");
      const uint64_t ran = AmxInstructionsTrapped() - before;
      if (trapped) {
        EXPECT_EQ(ran, 9u) << "each instruction once, in the trap";
      }
      for (int m = 0; m < s.rows; ++m) {
        for (int j = 0; j < ldc; ++j) {
          const size_t at = static_cast<size_t>(m) * ldc + j;
          const int32_t want_c = j < s.n ? want[at] : 0x5A5A5A5A;
          const int32_t want_zero = j < s.n ? 0 : 0x5A5A5A5A;
          ASSERT_EQ(got[at], want_c)
              << "rows " << s.rows << " k " << s.k << " n " << s.n
              << " letters " << letters << " at " << m << "," << j;
          ASSERT_EQ(zeroed[at], want_zero) << m << "," << j;
        }
      }
    }
  }
}

// The table amx_trapped really is the native object in the trap: a call
// through it runs its tile instructions there (at least the 4 TDPs per
// 64-deep step of each 32 x 32 tile), not somewhere else.
TEST(AmxTrap, TheTrappedTableRunsTheNativeTileInstructionsInTheTrap) {
  const TableUnderTest* trapped = nullptr;
  const std::vector<TableUnderTest> tables = TablesUnderTest();
  for (const TableUnderTest& t : tables) {
    if (t.trapped) trapped = &t;
  }
  ASSERT_NE(trapped, nullptr) << "amx_trapped is missing from the tables";
  const std::string why = WhyNotRunnable(*trapped);
  if (!why.empty()) GTEST_SKIP() << why;
  EXPECT_EQ(trapped->table, qgemm::FindIsa("amx")->table);
  qgemm_context* ctx = nullptr;
  ASSERT_EQ(qgemm_context_create(1, &ctx), QGEMM_OK);
  ASSERT_EQ(UseTable(ctx, *trapped), "");
  GemmCase gc;
  gc.m = 64;
  gc.n = 64;
  gc.k = 128;
  const uint64_t before = AmxInstructionsTrapped();
  EXPECT_EQ(RunCase(ctx, gc, Call::kPackedNK), "");
  EXPECT_GE(AmxInstructionsTrapped() - before, 2u * 2u * 2u * 4u);
  qgemm_context_destroy(ctx);
}

}  // namespace
}  // namespace qgemm_test

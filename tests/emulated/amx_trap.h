// The native AMX object (kernels/amx/gemm_32x32.cc, the very bytes the
// library ships) run on a CPU without AMX: every tile instruction raises
// SIGILL there (#UD), and a handler decodes it, carries it out on the tile
// model (amx_tile_model.h) with the registers and memory of the moment it
// faulted, and resumes after it. The rest of the object (its AVX-512 output
// stage, its short-tile VNNI kernels) runs natively, so this needs a CPU
// with the amx table's AVX-512 features. The table amx_trapped runs through
// every per-table test this way.
//
// What it checks that amx_emulated (the same source compiled against the
// model) cannot: the compiled code itself. GCC's _tile_loadd and
// _tile_loadconfig asm statements tell the compiler nothing about the
// memory they read, so a missing compiler barrier lets it sink, reorder or
// delete the stores that fill a buffer before a tile load of it; only the
// native object shows that, and here the trap reads memory exactly when
// the instruction would have. Under AddressSanitizer the model's copies
// are checked too, so a tile load or store outside its buffer is reported.
//
// Linux x86-64 only (it reads the registers from ucontext_t).
#ifndef QGEMM_TESTS_EMULATED_AMX_TRAP_H_
#define QGEMM_TESTS_EMULATED_AMX_TRAP_H_

#include <cstdint>
#include <string>

namespace qgemm_test {

// One decoded tile instruction (Intel SDM vol. 2: all are VEX.128 in map
// 0F38, W0; the opcode byte and VEX.pp tell which).
struct AmxInstruction {
  enum class Op {
    kLoadConfig,   // LDTILECFG m512        NP 49 !(11):000:bbb
    kStoreConfig,  // STTILECFG m512        66 49 !(11):000:bbb
    kRelease,      // TILERELEASE           NP 49 C0
    kZero,         // TILEZERO tmm          F2 49 11:rrr:000
    kLoad,         // TILELOADD(T1) tmm, sibmem   F2 (66) 4B !(11):rrr:100
    kStore,        // TILESTORED sibmem, tmm      F3 4B !(11):rrr:100
    kDotProduct,   // TDPB[SU][SU]D tmm, tmm, tmm 5E 11:rrr:bbb, vvvv
  };
  Op op = Op::kRelease;
  int length = 0;  // bytes, from the C4 prefix on
  int tile = 0;    // kZero, kLoad, kDotProduct: destination; kStore: source
  int tile_a = 0;  // kDotProduct: ModRM.rm (the A tile)
  int tile_b = 0;  // kDotProduct: VEX.vvvv (the B tile)
  bool signed_a = false, signed_b = false;  // kDotProduct
  // The memory operand: base + index * scale + disp, where -1 is no
  // register; rip_relative: the next instruction's address + disp. For
  // tile loads and stores the scaled index is the row stride.
  int base = -1, index = -1, scale = 1;
  int32_t disp = 0;
  bool rip_relative = false;
};

// Decodes the instruction at code. False if it is not a tile instruction
// the hardware would run (an encoding that is #UD on AMX too is refused).
bool DecodeAmxInstruction(const uint8_t* code, AmxInstruction* out);

// Installs the SIGILL handler once per process. "" when it is in place;
// otherwise why not (this CPU has AMX and runs the instructions itself,
// or lacks the object's AVX-512 features, or this is not x86-64 Linux).
std::string InstallAmxTrap();

// Tile instructions the handler has carried out, all threads together
// (a test that meant to go through the trap checks that it did).
uint64_t AmxInstructionsTrapped();

}  // namespace qgemm_test

#endif  // QGEMM_TESTS_EMULATED_AMX_TRAP_H_

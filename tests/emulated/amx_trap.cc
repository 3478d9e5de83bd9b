#include "tests/emulated/amx_trap.h"

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "dispatch/cpu.h"
#include "dispatch/isa.h"
#include "tests/emulated/amx_tile_model.h"

#if defined(__linux__) && defined(__x86_64__)
#include <signal.h>
#include <ucontext.h>
#include <unistd.h>
#define QGEMM_AMX_TRAP_SUPPORTED 1
#endif

namespace qgemm_test {

bool DecodeAmxInstruction(const uint8_t* code, AmxInstruction* out) {
  // C4 [R X B m-mmmm] [W vvvv L pp] opcode ModRM (SIB) (disp): the 3-byte
  // VEX prefix, the only one that reaches map 0F38. R, X, B and vvvv are
  // stored inverted.
  if (code[0] != 0xC4) return false;
  const uint8_t p1 = code[1], p2 = code[2];
  const int rex_r = ((p1 >> 7) & 1) ^ 1;
  const int rex_x = ((p1 >> 6) & 1) ^ 1;
  const int rex_b = ((p1 >> 5) & 1) ^ 1;
  const int map = p1 & 0x1F;
  const int w = p2 >> 7;
  const int vvvv = ((p2 >> 3) & 0xF) ^ 0xF;
  const int l = (p2 >> 2) & 1;
  const int pp = p2 & 3;  // 0: NP, 1: 66, 2: F3, 3: F2
  if (map != 2 || w != 0 || l != 0) return false;
  const uint8_t opcode = code[3], modrm = code[4];
  const int mod = modrm >> 6;
  const int reg = ((modrm >> 3) & 7) | (rex_r << 3);
  const int rm = modrm & 7;
  AmxInstruction insn;
  int length = 5;

  // The memory operand after ModRM (mod != 3), as the SDM's 64-bit
  // addressing tables define it.
  auto decode_memory = [&](bool needs_sib) {
    if (rm == 4) {
      const uint8_t sib = code[length++];
      const int index = ((sib >> 3) & 7) | (rex_x << 3);
      const int base = (sib & 7) | (rex_b << 3);
      insn.scale = 1 << (sib >> 6);
      insn.index = index == 4 ? -1 : index;  // RSP cannot be an index
      if (mod == 0 && (sib & 7) == 5) {
        insn.base = -1;  // disp32, no base
        std::memcpy(&insn.disp, code + length, 4);
        length += 4;
        return true;
      }
      insn.base = base;
    } else {
      if (needs_sib) return false;
      if (mod == 0 && rm == 5) {
        insn.rip_relative = true;
        std::memcpy(&insn.disp, code + length, 4);
        length += 4;
        return true;
      }
      insn.base = rm | (rex_b << 3);
    }
    if (mod == 1) {
      const int32_t disp8 = code[length++];
      insn.disp = disp8 < 128 ? disp8 : disp8 - 256;
    } else if (mod == 2) {
      std::memcpy(&insn.disp, code + length, 4);
      length += 4;
    }
    return true;
  };

  switch (opcode) {
    case 0x49:
      if (mod == 3) {
        if (vvvv != 0 || rex_b != 0) return false;
        if (pp == 0 && modrm == 0xC0) {
          insn.op = AmxInstruction::Op::kRelease;
        } else if (pp == 3 && rm == 0 && reg < 8) {
          insn.op = AmxInstruction::Op::kZero;
          insn.tile = reg;
        } else {
          return false;
        }
      } else {
        if (vvvv != 0 || reg != 0 || (pp != 0 && pp != 1)) return false;
        insn.op = pp == 0 ? AmxInstruction::Op::kLoadConfig
                          : AmxInstruction::Op::kStoreConfig;
        if (!decode_memory(false)) return false;
      }
      break;
    case 0x4B:
      if (mod == 3 || vvvv != 0 || reg >= 8 || pp == 0) return false;
      insn.op =
          pp == 2 ? AmxInstruction::Op::kStore : AmxInstruction::Op::kLoad;
      insn.tile = reg;
      if (!decode_memory(true)) return false;
      break;
    case 0x5E:
      if (mod != 3 || reg >= 8 || rex_b != 0 || vvvv >= 8) return false;
      insn.op = AmxInstruction::Op::kDotProduct;
      insn.tile = reg;
      insn.tile_a = rm;
      insn.tile_b = vvvv;
      // NP: UUD, 66: USD, F3: SUD, F2: SSD.
      insn.signed_a = pp >= 2;
      insn.signed_b = pp == 1 || pp == 3;
      break;
    default:
      return false;
  }
  insn.length = length;
  *out = insn;
  return true;
}

#if QGEMM_AMX_TRAP_SUPPORTED
namespace {

std::atomic<uint64_t> g_trapped{0};
struct sigaction g_previous;

// x86 register numbers (ModRM, SIB, REX) to ucontext_t's gregs.
constexpr int kGregOf[16] = {
    REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
    REG_R8,  REG_R9,  REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15};

void Say(const char* text) {
  const ssize_t ignored = write(2, text, std::strlen(text));
  (void)ignored;
}

void OnSigill(int /*sig*/, siginfo_t* /*info*/, void* context) {
  auto* uc = static_cast<ucontext_t*>(context);
  greg_t* regs = uc->uc_mcontext.gregs;
  // NOLINTNEXTLINE(performance-no-int-to-ptr): the faulting instruction
  const auto* code = reinterpret_cast<const uint8_t*>(regs[REG_RIP]);
  AmxInstruction insn;
  if (!DecodeAmxInstruction(code, &insn)) {
    // A real illegal instruction: the previous disposition takes it when
    // the instruction runs again.
    Say("amx trap: SIGILL on an instruction that is not a tile "
        "instruction\n");
    sigaction(SIGILL, &g_previous, nullptr);
    return;
  }
  const uint64_t next =
      static_cast<uint64_t>(regs[REG_RIP]) + static_cast<uint64_t>(insn.length);
  uint64_t address = insn.rip_relative ? next : 0;
  if (insn.base >= 0) {
    address += static_cast<uint64_t>(regs[kGregOf[insn.base]]);
  }
  address += static_cast<uint64_t>(static_cast<int64_t>(insn.disp));
  // The instruction's memory operand (the hardware would fault on the
  // null page; the kernels never point there).
  // NOLINTNEXTLINE(performance-no-int-to-ptr): an address from registers
  void* const memory = reinterpret_cast<void*>(address);
  if (insn.op != AmxInstruction::Op::kRelease &&
      insn.op != AmxInstruction::Op::kZero &&
      insn.op != AmxInstruction::Op::kDotProduct && memory == nullptr) {
    Say("amx trap: tile instruction on address 0\n");
    std::abort();
  }
  int64_t scaled_index = 0;
  if (insn.index >= 0) {
    scaled_index = static_cast<int64_t>(regs[kGregOf[insn.index]]) * insn.scale;
  }
  namespace model = qgemm::amx_model;
  switch (insn.op) {
    case AmxInstruction::Op::kLoadConfig:
      model::LoadConfig(memory);
      break;
    case AmxInstruction::Op::kStoreConfig:
      // The kernels never read their configuration back.
      Say("amx trap: STTILECFG is not modelled\n");
      std::abort();
    case AmxInstruction::Op::kRelease:
      model::Release();
      break;
    case AmxInstruction::Op::kZero:
      model::Zero(insn.tile);
      break;
    case AmxInstruction::Op::kLoad:
      model::LoadD(insn.tile, memory, scaled_index);
      break;
    case AmxInstruction::Op::kStore:
      model::StoreD(insn.tile, memory, scaled_index);
      break;
    case AmxInstruction::Op::kDotProduct:
      if (insn.signed_a) {
        if (insn.signed_b) {
          model::DotProduct<true, true>(insn.tile, insn.tile_a, insn.tile_b);
        } else {
          model::DotProduct<true, false>(insn.tile, insn.tile_a, insn.tile_b);
        }
      } else if (insn.signed_b) {
        model::DotProduct<false, true>(insn.tile, insn.tile_a, insn.tile_b);
      } else {
        model::DotProduct<false, false>(insn.tile, insn.tile_a, insn.tile_b);
      }
      break;
  }
  g_trapped.fetch_add(1, std::memory_order_relaxed);
  regs[REG_RIP] = static_cast<greg_t>(next);
}

std::string Install() {
  const qgemm::CpuFeatures& cpu = qgemm::DetectedCpu();
  if (cpu.Has(qgemm::kAmxTile)) {
    return "this CPU has AMX-TILE, so tile instructions run instead of "
           "trapping (the table amx runs them for real)";
  }
  const qgemm::IsaEntry* amx = qgemm::FindIsa("amx");
  if (amx == nullptr || amx->table == nullptr) {
    return "this build has no native amx object";
  }
  const uint32_t vector_part =
      amx->features &
      ~(qgemm::kAmxTile | qgemm::kAmxInt8 | qgemm::kAmxPalette1);
  if (!cpu.Has(vector_part)) {
    return "the native amx object's vector code needs AVX-512 F, BW, DQ, "
           "VL, VNNI, AVX2 and FMA, which this CPU lacks";
  }
  struct sigaction action;
  std::memset(&action, 0, sizeof action);
  action.sa_sigaction = OnSigill;
  action.sa_flags = SA_SIGINFO;
  sigemptyset(&action.sa_mask);
  if (sigaction(SIGILL, &action, &g_previous) != 0) {
    return "sigaction(SIGILL) failed";
  }
  return "";
}

}  // namespace

std::string InstallAmxTrap() {
  static const std::string why_not = Install();
  return why_not;
}

uint64_t AmxInstructionsTrapped() {
  return g_trapped.load(std::memory_order_relaxed);
}

namespace {

void CheckTheRunTrapped() {
  const uint64_t n = AmxInstructionsTrapped();
  if (n == 0) {
    Say("QGEMM_TEST_AMX_TRAP=1: no tile instruction reached the trap, so "
        "the native amx table never ran: FAILED\n");
    std::_Exit(1);
  }
  std::fprintf(stderr,
               "QGEMM_TEST_AMX_TRAP=1: %llu tile instructions "
               "carried out in the trap\n",
               static_cast<unsigned long long>(n));
}

// QGEMM_TEST_AMX_TRAP=1 (ctest's amx_trapped.* runs): the whole binary runs
// with the trap in place and dispatch told that the CPU has AMX and that
// Linux granted the tile state, so that "auto" and QGEMM_ISA=amx take the
// native amx table for every call, as on an AMX machine. Where the trap
// cannot run, the binary exits with 77 (ctest: skipped) saying why; a run
// in which no tile instruction reached the trap fails at exit.
const bool g_whole_run_trapped = [] {
  const char* env = std::getenv("QGEMM_TEST_AMX_TRAP");
  if (env == nullptr || std::strcmp(env, "1") != 0) return false;
  const std::string why = InstallAmxTrap();
  if (!why.empty()) {
    std::fprintf(stderr, "SKIPPED: QGEMM_TEST_AMX_TRAP=1 but %s\n",
                 why.c_str());
    std::_Exit(77);
  }
  qgemm::AddCpuFeaturesForTesting(qgemm::kAmxTile | qgemm::kAmxInt8 |
                                  qgemm::kAmxPalette1);
  qgemm::PretendEnableResultForTesting("amx", nullptr);
  std::atexit(CheckTheRunTrapped);
  return true;
}();

}  // namespace

#else  // !QGEMM_AMX_TRAP_SUPPORTED

std::string InstallAmxTrap() {
  return "the SIGILL trap reads x86-64 Linux registers; not this target";
}

uint64_t AmxInstructionsTrapped() { return 0; }

#endif

}  // namespace qgemm_test

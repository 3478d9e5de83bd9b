// Dispatch of the x86 ISAs above avx2 on pretended CPUs, one parameterized
// tester for all of them: each is chosen on a CPU with every feature it
// needs, any one missing feature gives the next ISA down, hiding features of
// this machine makes set_isa refuse it with the reason (and the native kernel
// tests skip saying so), auto picks it where the CPU really has it, and its
// emulated build (SIMDe, or the AMX tile model) is the same kernel, among
// the tables the kernel tests run. Cases of one ISA follow: avxvnni under
// AVX-512; amx chosen only where Linux also granted the tile permission
// ("advertised but permission refused" and "palette 0" fall back to
// avx512vnni), its real permission hook, and the model build's thread hooks
// configuring tiles for every kernel call and releasing them.
#include <gtest/gtest.h>
#include <qgemm/qgemm.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <ostream>
#include <string>
#include <vector>

#include "dispatch/context.h"
#include "dispatch/cpu.h"
#include "dispatch/driver.h"
#include "dispatch/isa.h"
#include "tables_under_test.h"
#include "tests/gemm_case.h"

#if QGEMM_TEST_HAVE_AMX_EMULATED
namespace qgemm {
namespace amx_emulated {
extern const KernelTable kTable;
bool TilesConfiguredOnThisThread();
uint64_t TileConfigsOnThisThread();
uint64_t TileDotProductsOnThisThread();
}  // namespace amx_emulated
}  // namespace qgemm
#endif

namespace {

constexpr uint32_t kAvx512Bits = qgemm::kAvx512F | qgemm::kAvx512BW |
                                 qgemm::kAvx512VL | qgemm::kAvx512DQ |
                                 qgemm::kAvx512Vnni;
constexpr uint32_t kVnniBits = qgemm::kAvx2 | qgemm::kFma | kAvx512Bits;

// A feature the ISA needs, and the ISAs (best first) dispatch may fall back
// to without it: the first of them in this build is expected.
struct MissingFeature {
  qgemm::CpuFeature feature;
  std::vector<const char*> fallback;
};

struct PretendedIsa {
  const char* isa;
  const char* model;  // of the pretended CPU
  uint32_t cpu_bits;  // every feature the ISA needs
  std::vector<MissingFeature> needs;
  const char* refusal;  // in the reason dispatch gives without them
  std::vector<uint32_t> hide_masks;  // each makes this machine unable to run it
  uint32_t hide_for_auto;            // hidden so that auto picks it natively
  const char* below;     // the ISA ranked right after it in the registry
  const char* emulated;  // its emulated table, if this build has it
  bool needs_permission;
};

void PrintTo(const PretendedIsa& p, std::ostream* os) { *os << p.isa; }

bool Built(const char* isa) {
  const qgemm::IsaEntry* e = qgemm::FindIsa(isa);
  return e != nullptr && e->table != nullptr;
}

const char* FirstBuilt(const std::vector<const char*>& isas) {
  for (const char* isa : isas) {
    if (Built(isa)) return isa;
  }
  return "scalar";
}

qgemm::CpuFeatures PretendedCpu(const PretendedIsa& p) {
  qgemm::CpuFeatures cpu;
  std::snprintf(cpu.arch, sizeof cpu.arch, "x86-64");
  std::snprintf(cpu.vendor, sizeof cpu.vendor, "GenuineIntel");
  std::snprintf(cpu.model, sizeof cpu.model, "%s", p.model);
  cpu.bits = p.cpu_bits;
  return cpu;
}

const std::vector<PretendedIsa>& PretendedIsas() {
  static const std::vector<PretendedIsa> isas = {
      {"amx",
       "pretended Sapphire Rapids",
       kVnniBits | qgemm::kAmxTile | qgemm::kAmxInt8 | qgemm::kAmxPalette1,
       {{qgemm::kAmxTile, {"avx512vnni"}},
        {qgemm::kAmxInt8, {"avx512vnni"}},
        {qgemm::kAmxPalette1, {"avx512vnni"}},
        {qgemm::kAvx512F, {"avx2"}},
        {qgemm::kAvx512BW, {"avx2"}},
        {qgemm::kAvx512VL, {"avx2"}},
        {qgemm::kAvx512DQ, {"avx2"}},
        {qgemm::kAvx512Vnni, {"avx2"}},
        {qgemm::kAvx2, {}}},
       "needs AMX-TILE",
       {qgemm::kAmxTile, qgemm::kAmxInt8, kAvx512Bits},
       0,
       "avx512vnni",
#if QGEMM_TEST_HAVE_AMX_EMULATED
       "amx_emulated",
#else
       nullptr,
#endif
       true},
      {"avx512vnni",
       "pretended Ice Lake server",
       kVnniBits,
       // AVX2 too: without it only scalar is left.
       {{qgemm::kAvx512F, {"avx2"}},
        {qgemm::kAvx512BW, {"avx2"}},
        {qgemm::kAvx512VL, {"avx2"}},
        {qgemm::kAvx512DQ, {"avx2"}},
        {qgemm::kAvx512Vnni, {"avx2"}},
        {qgemm::kAvx2, {}}},
       "needs AVX-512 F, BW, VL, DQ, VNNI and AVX2",
       {qgemm::kAvx512F | qgemm::kAvx512BW | qgemm::kAvx512VL |
            qgemm::kAvx512DQ,
        qgemm::kAvx512Vnni},
       qgemm::kAmxTile,  // on an AMX CPU, amx ranks first
       "avxvnni",
#if QGEMM_TEST_HAVE_AVX512VNNI_EMULATED
       "avx512vnni_emulated",
#else
       nullptr,
#endif
       false},
      // An Alder Lake-like client: AVX-VNNI in VEX form, no AVX-512.
      {"avxvnni",
       "pretended Alder Lake",
       qgemm::kAvx2 | qgemm::kFma | qgemm::kAvxVnni,
       // Without AVX2 or FMA (which avx2 needs too) only scalar is left.
       {{qgemm::kAvxVnni, {"avx2"}}, {qgemm::kAvx2, {}}, {qgemm::kFma, {}}},
       "'avxvnni' needs AVX-VNNI, AVX2 and FMA",
       {qgemm::kAvxVnni},
       kAvx512Bits | qgemm::kAmxTile,  // the better ISAs of a CPU with all
       "avx2",
#if QGEMM_TEST_HAVE_AVXVNNI_EMULATED
       "avxvnni_emulated",
#else
       nullptr,
#endif
       false},
  };
  return isas;
}

// These tests create contexts with features hidden, so they run with
// QGEMM_ISA unset (the suite also runs with it set: tools/ci/), and every
// pretence ends with the test.
class IsaEnvironmentGuard {
 public:
  IsaEnvironmentGuard() {
    if (const char* env = std::getenv("QGEMM_ISA")) {
      saved_isa_env_ = env;
      had_isa_env_ = true;
      unsetenv("QGEMM_ISA");
    }
  }
  ~IsaEnvironmentGuard() {
    qgemm::PretendEnableResultForTesting(nullptr, nullptr);
    qgemm::HideCpuFeaturesForTesting(0);
    if (had_isa_env_) setenv("QGEMM_ISA", saved_isa_env_.c_str(), 1);
  }
  IsaEnvironmentGuard(const IsaEnvironmentGuard&) = delete;
  IsaEnvironmentGuard& operator=(const IsaEnvironmentGuard&) = delete;

 private:
  std::string saved_isa_env_;
  bool had_isa_env_ = false;
};

// The registry entry of `isa`; the test skips where this build lacks it.
void FindBuiltIsa(const char* isa, const qgemm::IsaEntry** entry) {
  *entry = qgemm::FindIsa(isa);
  ASSERT_NE(*entry, nullptr);
  if ((*entry)->table == nullptr) {
    GTEST_SKIP() << isa
                 << " is not in this build (not x86-64, or the compiler "
                    "lacks its flags)";
  }
}

class PretendedIsaTest : public testing::TestWithParam<PretendedIsa> {
 protected:
  void SetUp() override {
    FindBuiltIsa(GetParam().isa, &entry_);
    // The answer of the enable hook (AMX: Linux's tile permission) is not
    // this machine's business on a pretended CPU.
    if (GetParam().needs_permission) {
      qgemm::PretendEnableResultForTesting(GetParam().isa, nullptr);
    }
  }
  IsaEnvironmentGuard guard_;
  const qgemm::IsaEntry* entry_ = nullptr;
};

TEST_P(PretendedIsaTest, PickedOnACpuWithEveryFeature) {
  const qgemm::CpuFeatures cpu = PretendedCpu(GetParam());
  std::string why;
  EXPECT_TRUE(qgemm::IsaUsable(*entry_, cpu, &why)) << why;
  EXPECT_STREQ(qgemm::BestIsa(cpu).name, GetParam().isa);
  EXPECT_STREQ(qgemm::BestIsa(cpu).table->isa, GetParam().isa);
}

TEST_P(PretendedIsaTest, AnyOneMissingFeatureFallsBack) {
  const PretendedIsa& p = GetParam();
  for (const MissingFeature& m : p.needs) {
    qgemm::CpuFeatures cpu = PretendedCpu(p);
    cpu.bits &= ~m.feature;
    std::string why;
    EXPECT_FALSE(qgemm::IsaUsable(*entry_, cpu, &why)) << m.feature;
    EXPECT_NE(why.find(p.refusal), std::string::npos) << why;
    EXPECT_STREQ(qgemm::BestIsa(cpu).name, FirstBuilt(m.fallback)) << m.feature;
  }
}

TEST_P(PretendedIsaTest, RankedRightAboveTheNextIsaDown) {
  size_t count = 0;
  const qgemm::IsaEntry* list = qgemm::IsaList(&count);
  for (size_t i = 0; i < count; ++i) {
    if (std::strcmp(list[i].name, GetParam().isa) != 0) continue;
    ASSERT_LT(i + 1, count);
    EXPECT_STREQ(list[i + 1].name, GetParam().below);
  }
  const qgemm::IsaEntry* below = qgemm::FindIsa(GetParam().below);
  ASSERT_NE(below, nullptr);
  EXPECT_LT(entry_, below);
}

// On this machine with the ISA's features hidden: set_isa refuses it with
// the reason, auto picks something else, and the native kernel tests skip
// saying the same.
TEST_P(PretendedIsaTest, HiddenFeaturesMakeItUnsupportedAndNativeTestsSkip) {
  const PretendedIsa& p = GetParam();
  for (const uint32_t mask : p.hide_masks) {
    qgemm::HideCpuFeaturesForTesting(mask);
    qgemm_context* ctx = nullptr;
    ASSERT_EQ(qgemm_context_create(1, &ctx), QGEMM_OK);
    EXPECT_EQ(qgemm_context_set_isa(ctx, p.isa), QGEMM_UNSUPPORTED);
    EXPECT_NE(std::strstr(qgemm_last_error(), p.isa), nullptr)
        << qgemm_last_error();
    EXPECT_NE(std::strstr(qgemm_last_error(), "needs"), nullptr)
        << qgemm_last_error();
    EXPECT_EQ(qgemm_context_set_isa(ctx, "auto"), QGEMM_OK);
    EXPECT_STRNE(qgemm_context_isa(ctx), p.isa);
    qgemm_context_destroy(ctx);

    bool native_seen = false;
    for (const qgemm_test::TableUnderTest& t : qgemm_test::TablesUnderTest()) {
      if (t.name != p.isa) continue;
      native_seen = true;
      EXPECT_NE(qgemm_test::WhyNotRunnable(t).find("needs"), std::string::npos)
          << qgemm_test::WhyNotRunnable(t);
    }
    EXPECT_TRUE(native_seen);
    qgemm::HideCpuFeaturesForTesting(0);
  }
}

// Where the CPU really has it (and the better ISAs are hidden), auto picks
// it: QGEMM_ISA=<isa> is then how the whole suite runs natively.
TEST_P(PretendedIsaTest, AutoPicksItOnACpuThatHasIt) {
  qgemm::PretendEnableResultForTesting(nullptr, nullptr);  // the real hook
  std::string why;
  if (!qgemm::IsaUsable(*entry_, qgemm::DetectedCpu(), &why)) {
    GTEST_SKIP() << "this CPU cannot run it natively: " << why;
  }
  qgemm::HideCpuFeaturesForTesting(GetParam().hide_for_auto);
  qgemm_context* ctx = nullptr;
  ASSERT_EQ(qgemm_context_create(1, &ctx), QGEMM_OK);
  EXPECT_EQ(qgemm_context_set_isa(ctx, "auto"), QGEMM_OK);
  EXPECT_STREQ(qgemm_context_isa(ctx), GetParam().isa);
  qgemm_context_destroy(ctx);
}

// The emulated build is the same kernel: same tile and packed format, and it
// is among the tables KernelTest runs, runnable on any AVX2 CPU.
TEST_P(PretendedIsaTest, EmulatedTableIsTheSameKernelAndIsTested) {
  const PretendedIsa& p = GetParam();
  if (p.emulated == nullptr) {
    GTEST_SKIP() << "no emulated build of " << p.isa << " in this build";
  }
  const auto tables = qgemm_test::TablesUnderTest();
  const qgemm_test::TableUnderTest* emulated = nullptr;
  for (const auto& t : tables) {
    if (t.name == p.emulated) emulated = &t;
  }
  ASSERT_NE(emulated, nullptr);
  EXPECT_TRUE(emulated->emulated);
  EXPECT_EQ(emulated->isa, p.isa);
  const qgemm::KernelTable& e = *emulated->table;
  const qgemm::KernelTable& n = *entry_->table;
  EXPECT_STREQ(e.isa, p.emulated);
  EXPECT_EQ(e.packing_format, n.packing_format);
  EXPECT_EQ(e.mr, n.mr);
  EXPECT_EQ(e.nr, n.nr);
  EXPECT_EQ(e.kr, n.kr);
  EXPECT_EQ(e.b_packed_offset[0], 128);
  EXPECT_EQ(n.b_packed_offset[0], 128);
  EXPECT_EQ(e.thread_begin != nullptr, n.thread_begin != nullptr);
  std::string why;
  EXPECT_TRUE(qgemm::CheckKernelTable(e, &why)) << why;
  if (qgemm::DetectedCpu().Has(qgemm::kAvx2 | qgemm::kFma)) {
    EXPECT_EQ(qgemm_test::WhyNotRunnable(*emulated), "");
  }
}

std::string PretendedIsaName(
    const testing::TestParamInfo<PretendedIsa>& param_info) {
  return param_info.param.isa;
}

INSTANTIATE_TEST_SUITE_P(X86, PretendedIsaTest,
                         testing::ValuesIn(PretendedIsas()), PretendedIsaName);

// ---- Cases of one ISA -------------------------------------------------------

// Sapphire Rapids and Zen 4/5 have both AVX-512 VNNI and AVX-VNNI: the
// 512-bit kernel ranks first, the VEX one takes over when AVX-512 is missing.
TEST(AvxVnniDispatch, Avx512VnniWinsWhereBothAreThere) {
  if (!Built("avxvnni")) GTEST_SKIP() << "avxvnni is not in this build";
  qgemm::CpuFeatures cpu = PretendedCpu(PretendedIsas()[2]);
  ASSERT_STREQ(PretendedIsas()[2].isa, "avxvnni");
  cpu.bits |= kAvx512Bits;
  EXPECT_STREQ(qgemm::BestIsa(cpu).name,
               Built("avx512vnni") ? "avx512vnni" : "avxvnni");
  cpu.bits &= ~qgemm::kAvx512Vnni;
  EXPECT_STREQ(qgemm::BestIsa(cpu).name, "avxvnni");
}

class AmxDispatchTest : public testing::Test {
 protected:
  void SetUp() override {
    FindBuiltIsa("amx", &amx_);
    ASSERT_STREQ(PretendedIsas()[0].isa, "amx");
  }
  IsaEnvironmentGuard guard_;
  const qgemm::IsaEntry* amx_ = nullptr;
};

TEST_F(AmxDispatchTest, AdvertisedButPermissionRefusedFallsBackToAvx512Vnni) {
  qgemm::PretendEnableResultForTesting(
      "amx", "Linux refused the tile state (pretended)");
  const qgemm::CpuFeatures cpu = PretendedCpu(PretendedIsas()[0]);
  std::string why;
  EXPECT_FALSE(qgemm::IsaUsable(*amx_, cpu, &why));
  EXPECT_NE(why.find("could not be enabled: Linux refused the tile state"),
            std::string::npos)
      << why;
  EXPECT_STREQ(qgemm::BestIsa(cpu).name, "avx512vnni");
}

TEST_F(AmxDispatchTest, PaletteZeroFallsBackToAvx512Vnni) {
  qgemm::PretendEnableResultForTesting("amx", nullptr);
  qgemm::CpuFeatures cpu = PretendedCpu(PretendedIsas()[0]);
  cpu.bits &= ~qgemm::kAmxPalette1;  // CPUID 0x1D: no palette 1
  std::string why;
  EXPECT_FALSE(qgemm::IsaUsable(*amx_, cpu, &why));
  EXPECT_NE(why.find("palette 1"), std::string::npos) << why;
  EXPECT_STREQ(qgemm::BestIsa(cpu).name, "avx512vnni");
}

// The real hook on a pretended AMX CPU: on this machine's OS it asks Linux
// for the tile state. Compiled with AVX-512 flags, so only run where the
// CPU has AVX-512 (rule 1 of "Building per-ISA code").
TEST_F(AmxDispatchTest, RealPermissionHookAnswersAndSaysWhy) {
  if (!qgemm::DetectedCpu().Has(kVnniBits)) {
    GTEST_SKIP() << "the hook's object is AVX-512 code; this CPU has none";
  }
  std::string why;
  const bool usable = qgemm::IsaUsable(*amx_, PretendedCpu(PretendedIsas()[0]), &why);
  const bool real_amx = qgemm::DetectedCpu().Has(amx_->features);
  if (real_amx) {
    EXPECT_TRUE(usable) << why;
  } else if (!usable) {
    // A kernel without AMX support answers EINVAL.
    EXPECT_NE(why.find("arch_prctl(ARCH_REQ_XCOMP_PERM"), std::string::npos)
        << why;
  }
}

#if QGEMM_TEST_HAVE_AMX_EMULATED
// Both builds have the tile hooks, and the tile is 32 x 32.
TEST_F(AmxDispatchTest, BothBuildsHaveTheTileHooks) {
  const qgemm::KernelTable& n = *amx_->table;
  const qgemm::KernelTable& e = qgemm::amx_emulated::kTable;
  EXPECT_EQ(n.mr, 32u);
  EXPECT_EQ(n.nr, 32u);
  EXPECT_NE(n.enable, nullptr);
  EXPECT_NE(n.thread_begin, nullptr);
  EXPECT_NE(n.thread_end, nullptr);
  EXPECT_NE(e.thread_begin, nullptr);
  EXPECT_NE(e.thread_end, nullptr);
}

// The model aborts on a tile instruction without LDTILECFG, so every kernel
// test of amx_emulated already shows that thread_begin ran first; here: the
// tiles really were used, and no thread is left configured after a call
// (the caller's thread included), at 1, 2 and 4 threads.
TEST_F(AmxDispatchTest, EmulatedTilesAreConfiguredOnlyDuringACall) {
  const qgemm_test::TableUnderTest t{"amx_emulated", "amx",
                                     &qgemm::amx_emulated::kTable, true};
  qgemm::SplitEveryCallForTesting(true);
  for (int threads : {1, 2, 4}) {
    qgemm_context* ctx = nullptr;
    ASSERT_EQ(qgemm_context_create(threads, &ctx), QGEMM_OK);
    ASSERT_EQ(qgemm_test::UseTable(ctx, t), "");
    const uint64_t configs = qgemm::amx_emulated::TileConfigsOnThisThread();
    qgemm_test::GemmCase gc;
    gc.m = 100;
    gc.n = 70;
    gc.k = 150;
    for (qgemm_test::Call call :
         {qgemm_test::Call::kRequant, qgemm_test::Call::kS32,
          qgemm_test::Call::kPackedNK, qgemm_test::Call::kPackedS32}) {
      EXPECT_EQ(qgemm_test::RunCase(ctx, gc, call), "") << threads;
      EXPECT_FALSE(qgemm::amx_emulated::TilesConfiguredOnThisThread());
    }
    if (threads == 1) {
      EXPECT_GT(qgemm::amx_emulated::TileConfigsOnThisThread(), configs);
      EXPECT_GT(qgemm::amx_emulated::TileDotProductsOnThisThread(), 0u);
    }
    qgemm_context_destroy(ctx);
  }
  qgemm::SplitEveryCallForTesting(false);
}
#endif

}  // namespace

// Dispatch of amx with pretended CPUs: it is chosen only where AMX-TILE,
// AMX-INT8, tile palette 1 (with the OS saving tiles) and every avx512vnni
// feature are there AND Linux granted the tile permission; "AMX advertised
// but permission refused" and "palette 0" fall back to avx512vnni. The
// native kernel tests skip with the reason where the CPU has no AMX; the
// model build (amx_emulated) runs the same kernel body everywhere, and its
// thread hooks configure tiles for every kernel call and release them.
#include <gtest/gtest.h>
#include <qgemm/qgemm.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

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

constexpr uint32_t kVnniBits = qgemm::kAvx2 | qgemm::kFma | qgemm::kAvx512F |
                               qgemm::kAvx512BW | qgemm::kAvx512VL |
                               qgemm::kAvx512DQ | qgemm::kAvx512Vnni;

qgemm::CpuFeatures PretendedAmxCpu() {
  qgemm::CpuFeatures cpu;
  std::snprintf(cpu.arch, sizeof cpu.arch, "x86-64");
  std::snprintf(cpu.vendor, sizeof cpu.vendor, "GenuineIntel");
  std::snprintf(cpu.model, sizeof cpu.model, "pretended Sapphire Rapids");
  cpu.bits =
      kVnniBits | qgemm::kAmxTile | qgemm::kAmxInt8 | qgemm::kAmxPalette1;
  return cpu;
}

class AmxDispatchTest : public testing::Test {
 protected:
  void SetUp() override {
    if (const char* env = std::getenv("QGEMM_ISA")) {
      saved_isa_env_ = env;
      had_isa_env_ = true;
      unsetenv("QGEMM_ISA");
    }
    amx_ = qgemm::FindIsa("amx");
    ASSERT_NE(amx_, nullptr);
    if (amx_->table == nullptr) {
      GTEST_SKIP() << "amx is not in this build (not x86-64, or the "
                      "compiler lacks -mamx-tile -mamx-int8)";
    }
  }
  void TearDown() override {
    qgemm::PretendEnableResultForTesting(nullptr, nullptr);
    qgemm::HideCpuFeaturesForTesting(0);
    if (had_isa_env_) setenv("QGEMM_ISA", saved_isa_env_.c_str(), 1);
  }
  const qgemm::IsaEntry* amx_ = nullptr;
  std::string saved_isa_env_;
  bool had_isa_env_ = false;
};

TEST_F(AmxDispatchTest, RankedAboveAvx512VnniWithTheSameVnniFeatures) {
  const qgemm::IsaEntry* vnni = qgemm::FindIsa("avx512vnni");
  ASSERT_NE(vnni, nullptr);
  EXPECT_LT(amx_, vnni) << "amx must come first in the registry";
  EXPECT_EQ(amx_->features & vnni->features, vnni->features);
}

TEST_F(AmxDispatchTest, PickedWithEveryFeatureAndThePermission) {
  qgemm::PretendEnableResultForTesting("amx", nullptr);
  const qgemm::CpuFeatures cpu = PretendedAmxCpu();
  std::string why;
  EXPECT_TRUE(qgemm::IsaUsable(*amx_, cpu, &why)) << why;
  EXPECT_STREQ(qgemm::BestIsa(cpu).name, "amx");
  EXPECT_STREQ(qgemm::BestIsa(cpu).table->isa, "amx");
}

TEST_F(AmxDispatchTest, AdvertisedButPermissionRefusedFallsBackToAvx512Vnni) {
  qgemm::PretendEnableResultForTesting(
      "amx", "Linux refused the tile state (pretended)");
  const qgemm::CpuFeatures cpu = PretendedAmxCpu();
  std::string why;
  EXPECT_FALSE(qgemm::IsaUsable(*amx_, cpu, &why));
  EXPECT_NE(why.find("could not be enabled: Linux refused the tile state"),
            std::string::npos)
      << why;
  EXPECT_STREQ(qgemm::BestIsa(cpu).name, "avx512vnni");
}

TEST_F(AmxDispatchTest, PaletteZeroFallsBackToAvx512Vnni) {
  qgemm::PretendEnableResultForTesting("amx", nullptr);
  qgemm::CpuFeatures cpu = PretendedAmxCpu();
  cpu.bits &= ~qgemm::kAmxPalette1;  // CPUID 0x1D: no palette 1
  std::string why;
  EXPECT_FALSE(qgemm::IsaUsable(*amx_, cpu, &why));
  EXPECT_NE(why.find("palette 1"), std::string::npos) << why;
  EXPECT_STREQ(qgemm::BestIsa(cpu).name, "avx512vnni");
}

TEST_F(AmxDispatchTest, AnyOneMissingFeatureFallsBack) {
  qgemm::PretendEnableResultForTesting("amx", nullptr);
  const qgemm::CpuFeature kFeatures[] = {
      qgemm::kAmxTile,  qgemm::kAmxInt8,    qgemm::kAmxPalette1,
      qgemm::kAvx512F,  qgemm::kAvx512BW,   qgemm::kAvx512VL,
      qgemm::kAvx512DQ, qgemm::kAvx512Vnni, qgemm::kAvx2};
  for (const qgemm::CpuFeature feature : kFeatures) {
    qgemm::CpuFeatures cpu = PretendedAmxCpu();
    cpu.bits &= ~feature;
    std::string why;
    EXPECT_FALSE(qgemm::IsaUsable(*amx_, cpu, &why)) << feature;
    EXPECT_NE(why.find("needs AMX-TILE"), std::string::npos) << why;
    const bool amx_only = (feature & kVnniBits) == 0;
    const char* expected = amx_only                  ? "avx512vnni"
                           : feature == qgemm::kAvx2 ? "scalar"
                                                     : "avx2";
    EXPECT_STREQ(qgemm::BestIsa(cpu).name, expected) << feature;
  }
}

// The real hook on a pretended AMX CPU: on this machine's OS it asks Linux
// for the tile state. Compiled with AVX-512 flags, so only run where the
// CPU has AVX-512 (rule 1 of "Building per-ISA code").
TEST_F(AmxDispatchTest, RealPermissionHookAnswersAndSaysWhy) {
  if (!qgemm::DetectedCpu().Has(kVnniBits)) {
    GTEST_SKIP() << "the hook's object is AVX-512 code; this CPU has none";
  }
  std::string why;
  const bool usable = qgemm::IsaUsable(*amx_, PretendedAmxCpu(), &why);
  const bool real_amx = qgemm::DetectedCpu().Has(amx_->features);
  if (real_amx) {
    EXPECT_TRUE(usable) << why;
  } else if (!usable) {
    // A kernel without AMX support answers EINVAL.
    EXPECT_NE(why.find("arch_prctl(ARCH_REQ_XCOMP_PERM"), std::string::npos)
        << why;
  }
}

// On this CPU: amx is refused with the reason unless it really has AMX, and
// the native kernel tests say the same when they skip.
TEST_F(AmxDispatchTest, NativeTablesSkipWithTheReasonWhereThereIsNoAmx) {
  std::string why;
  if (qgemm::IsaUsable(*amx_, qgemm::EffectiveCpu(), &why)) {
    GTEST_SKIP() << "this CPU runs amx natively";
  }
  qgemm_context* ctx = nullptr;
  ASSERT_EQ(qgemm_context_create(1, &ctx), QGEMM_OK);
  EXPECT_EQ(qgemm_context_set_isa(ctx, "amx"), QGEMM_UNSUPPORTED);
  EXPECT_NE(std::strstr(qgemm_last_error(), "amx"), nullptr);
  qgemm_context_destroy(ctx);
  bool native_seen = false;
  for (const qgemm_test::TableUnderTest& t : qgemm_test::TablesUnderTest()) {
    if (t.name != "amx") continue;
    native_seen = true;
    EXPECT_EQ(qgemm_test::WhyNotRunnable(t), why);
  }
  EXPECT_TRUE(native_seen);
}

#if QGEMM_TEST_HAVE_AMX_EMULATED
TEST_F(AmxDispatchTest, EmulatedTableIsTheSameKernelAndIsTested) {
  const qgemm_test::TableUnderTest* emulated = nullptr;
  const auto tables = qgemm_test::TablesUnderTest();
  for (const auto& t : tables) {
    if (t.name == "amx_emulated") emulated = &t;
  }
  ASSERT_NE(emulated, nullptr);
  EXPECT_TRUE(emulated->emulated);
  EXPECT_EQ(emulated->isa, "amx");
  const qgemm::KernelTable& e = *emulated->table;
  const qgemm::KernelTable& n = *amx_->table;
  EXPECT_STREQ(e.isa, "amx_emulated");
  EXPECT_EQ(e.packing_format, n.packing_format);
  EXPECT_EQ(e.mr, 32u);
  EXPECT_EQ(n.mr, 32u);
  EXPECT_EQ(e.nr, 32u);
  EXPECT_EQ(n.nr, 32u);
  EXPECT_EQ(e.b_packed_offset[0], 128);
  EXPECT_EQ(n.b_packed_offset[0], 128);
  EXPECT_NE(n.enable, nullptr);
  EXPECT_NE(n.thread_begin, nullptr);
  EXPECT_NE(e.thread_begin, nullptr);
  std::string why;
  EXPECT_TRUE(qgemm::CheckKernelTable(e, &why)) << why;
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

// Dispatch of avxvnni with pretended CPUs: ranked below avx512vnni and above
// avx2, chosen only when AVX-VNNI, AVX2 and FMA are all there, whatever this
// machine has; the native kernel tests skip with a reason when it cannot
// run, and the SIMDe build of the same kernel is among the tables the
// kernel tests run.
#include <gtest/gtest.h>
#include <qgemm/qgemm.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "dispatch/cpu.h"
#include "dispatch/isa.h"
#include "tables_under_test.h"

namespace {

constexpr uint32_t kAvx512Bits = qgemm::kAvx512F | qgemm::kAvx512BW |
                                 qgemm::kAvx512VL | qgemm::kAvx512DQ |
                                 qgemm::kAvx512Vnni;

// An Alder Lake-like client: AVX-VNNI in VEX form, no AVX-512.
qgemm::CpuFeatures PretendedAvxVnniCpu() {
  qgemm::CpuFeatures cpu;
  std::snprintf(cpu.arch, sizeof cpu.arch, "x86-64");
  std::snprintf(cpu.vendor, sizeof cpu.vendor, "GenuineIntel");
  std::snprintf(cpu.model, sizeof cpu.model, "pretended Alder Lake");
  cpu.bits = qgemm::kAvx2 | qgemm::kFma | qgemm::kAvxVnni;
  return cpu;
}

bool Built(const char* isa) {
  const qgemm::IsaEntry* e = qgemm::FindIsa(isa);
  return e != nullptr && e->table != nullptr;
}

// As in avx512vnni_dispatch_test.cc: these tests create contexts with
// features hidden, so they run with QGEMM_ISA unset and put it back.
class AvxVnniDispatchTest : public testing::Test {
 protected:
  void SetUp() override {
    if (const char* env = std::getenv("QGEMM_ISA")) {
      saved_isa_env_ = env;
      had_isa_env_ = true;
      unsetenv("QGEMM_ISA");
    }
    vnni_ = qgemm::FindIsa("avxvnni");
    ASSERT_NE(vnni_, nullptr);
    if (vnni_->table == nullptr) {
      GTEST_SKIP() << "avxvnni is not in this build (not x86-64, or the "
                      "compiler lacks -mavxvnni)";
    }
  }
  void TearDown() override {
    qgemm::HideCpuFeaturesForTesting(0);
    if (had_isa_env_) setenv("QGEMM_ISA", saved_isa_env_.c_str(), 1);
  }
  const qgemm::IsaEntry* vnni_ = nullptr;
  std::string saved_isa_env_;
  bool had_isa_env_ = false;
};

TEST_F(AvxVnniDispatchTest, PreferredOverAvx2WithoutAvx512) {
  const qgemm::CpuFeatures cpu = PretendedAvxVnniCpu();
  std::string why;
  EXPECT_TRUE(qgemm::IsaUsable(*vnni_, cpu, &why)) << why;
  EXPECT_STREQ(qgemm::BestIsa(cpu).name, "avxvnni");
  EXPECT_STREQ(qgemm::BestIsa(cpu).table->isa, "avxvnni");
}

TEST_F(AvxVnniDispatchTest, AnyOneMissingFeatureFallsBack) {
  // Without AVX-VNNI the CPU is a plain AVX2 one; without AVX2 or FMA
  // (which avx2 needs too) nothing but scalar is left.
  const char* without_vnni = Built("avx2") ? "avx2" : "scalar";
  const qgemm::CpuFeature kFeatures[] = {qgemm::kAvxVnni, qgemm::kAvx2,
                                         qgemm::kFma};
  for (const qgemm::CpuFeature feature : kFeatures) {
    qgemm::CpuFeatures cpu = PretendedAvxVnniCpu();
    cpu.bits &= ~feature;
    std::string why;
    EXPECT_FALSE(qgemm::IsaUsable(*vnni_, cpu, &why));
    EXPECT_NE(why.find("'avxvnni' needs AVX-VNNI, AVX2 and FMA"),
              std::string::npos)
        << why;
    EXPECT_STREQ(qgemm::BestIsa(cpu).name,
                 feature == qgemm::kAvxVnni ? without_vnni : "scalar");
  }
}

// Sapphire Rapids and Zen 4/5 have both: the 512-bit kernel ranks first, and
// the VEX one takes over when AVX-512 is missing or hidden.
TEST_F(AvxVnniDispatchTest, RankedBetweenAvx512VnniAndAvx2) {
  qgemm::CpuFeatures cpu = PretendedAvxVnniCpu();
  cpu.bits |= kAvx512Bits;
  EXPECT_STREQ(qgemm::BestIsa(cpu).name,
               Built("avx512vnni") ? "avx512vnni" : "avxvnni");
  cpu.bits &= ~qgemm::kAvx512Vnni;
  EXPECT_STREQ(qgemm::BestIsa(cpu).name, "avxvnni");

  size_t count = 0;
  const qgemm::IsaEntry* list = qgemm::IsaList(&count);
  int avx512vnni = -1, avxvnni = -1, avx2 = -1;
  for (size_t i = 0; i < count; ++i) {
    const std::string name = list[i].name;
    if (name == "avx512vnni") avx512vnni = static_cast<int>(i);
    if (name == "avxvnni") avxvnni = static_cast<int>(i);
    if (name == "avx2") avx2 = static_cast<int>(i);
  }
  EXPECT_LT(avx512vnni, avxvnni);
  EXPECT_LT(avxvnni, avx2);
}

// On the real CPU with AVX-VNNI hidden: set_isa refuses avxvnni with a
// message, auto does not pick it, and the native kernel tests would skip
// saying the same.
TEST_F(AvxVnniDispatchTest, HiddenAvxVnniIsUnsupportedAndNativeTestsSkip) {
  qgemm::HideCpuFeaturesForTesting(qgemm::kAvxVnni);
  qgemm_context* ctx = nullptr;
  ASSERT_EQ(qgemm_context_create(1, &ctx), QGEMM_OK);
  EXPECT_EQ(qgemm_context_set_isa(ctx, "avxvnni"), QGEMM_UNSUPPORTED);
  EXPECT_NE(std::strstr(qgemm_last_error(), "needs AVX-VNNI"), nullptr)
      << qgemm_last_error();
  EXPECT_EQ(qgemm_context_set_isa(ctx, "auto"), QGEMM_OK);
  EXPECT_STRNE(qgemm_context_isa(ctx), "avxvnni");
  qgemm_context_destroy(ctx);

  bool native_seen = false;
  for (const qgemm_test::TableUnderTest& t : qgemm_test::TablesUnderTest()) {
    if (t.name != "avxvnni") continue;
    native_seen = true;
    EXPECT_NE(qgemm_test::WhyNotRunnable(t).find("needs AVX-VNNI"),
              std::string::npos);
  }
  EXPECT_TRUE(native_seen);
}

// Where the CPU really has it and AVX-512 is hidden (or absent), auto picks
// it.
TEST_F(AvxVnniDispatchTest, AutoPicksItOnACpuThatHasItWithoutAvx512) {
  std::string why;
  if (!qgemm::IsaUsable(*vnni_, qgemm::DetectedCpu(), &why)) {
    GTEST_SKIP() << "this CPU cannot run it natively: " << why;
  }
  qgemm::HideCpuFeaturesForTesting(kAvx512Bits);
  qgemm_context* ctx = nullptr;
  ASSERT_EQ(qgemm_context_create(1, &ctx), QGEMM_OK);
  EXPECT_EQ(qgemm_context_set_isa(ctx, "auto"), QGEMM_OK);
  EXPECT_STREQ(qgemm_context_isa(ctx), "avxvnni");
  qgemm_context_destroy(ctx);
}

#if QGEMM_TEST_HAVE_AVXVNNI_EMULATED
// The emulated build is the same kernel: same tile and packed format, and it
// is among the tables KernelTest runs, runnable on any AVX2 CPU.
TEST_F(AvxVnniDispatchTest, EmulatedTableIsTheSameKernelAndIsTested) {
  const qgemm_test::TableUnderTest* emulated = nullptr;
  const auto tables = qgemm_test::TablesUnderTest();
  for (const auto& t : tables) {
    if (t.name == "avxvnni_emulated") emulated = &t;
  }
  ASSERT_NE(emulated, nullptr);
  EXPECT_TRUE(emulated->emulated);
  EXPECT_EQ(emulated->isa, "avxvnni");
  const qgemm::KernelTable& e = *emulated->table;
  const qgemm::KernelTable& n = *vnni_->table;
  EXPECT_STREQ(e.isa, "avxvnni_emulated");
  EXPECT_EQ(e.packing_format, n.packing_format);
  EXPECT_EQ(e.mr, n.mr);
  EXPECT_EQ(e.nr, n.nr);
  EXPECT_EQ(e.kr, n.kr);
  EXPECT_EQ(e.b_packed_offset[0], 128);
  EXPECT_EQ(n.b_packed_offset[0], 128);
  const qgemm::CpuFeatures& cpu = qgemm::DetectedCpu();
  if (cpu.Has(qgemm::kAvx2 | qgemm::kFma)) {
    EXPECT_EQ(qgemm_test::WhyNotRunnable(*emulated), "");
  }
}
#endif

}  // namespace

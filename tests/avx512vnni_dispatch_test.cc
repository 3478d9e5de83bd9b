// Dispatch of avx512vnni with pretended CPUs: it is chosen over avx2 only
// when F, BW, VL, DQ, VNNI (and AVX2) are all there, whatever this machine has;
// the native kernel tests skip with a reason when it cannot run, and the SIMDe
// build of the same kernels is among the tables the kernel tests run.
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

qgemm::CpuFeatures PretendedAvx512VnniCpu() {
  qgemm::CpuFeatures cpu;
  std::snprintf(cpu.arch, sizeof cpu.arch, "x86-64");
  std::snprintf(cpu.vendor, sizeof cpu.vendor, "GenuineIntel");
  std::snprintf(cpu.model, sizeof cpu.model, "pretended Ice Lake server");
  cpu.bits = qgemm::kAvx2 | qgemm::kFma | qgemm::kAvx512F | qgemm::kAvx512BW |
             qgemm::kAvx512VL | qgemm::kAvx512DQ | qgemm::kAvx512Vnni;
  return cpu;
}

// The suite also runs with QGEMM_ISA=avx512vnni set (tools/ci/): these tests
// create contexts with features hidden, so they run with QGEMM_ISA unset and
// put it back afterwards.
class Avx512VnniDispatchTest : public testing::Test {
 protected:
  void SetUp() override {
    if (const char* env = std::getenv("QGEMM_ISA")) {
      saved_isa_env_ = env;
      had_isa_env_ = true;
      unsetenv("QGEMM_ISA");
    }
    vnni_ = qgemm::FindIsa("avx512vnni");
    ASSERT_NE(vnni_, nullptr);
    if (vnni_->table == nullptr) {
      GTEST_SKIP() << "avx512vnni is not in this build (not x86-64, or the "
                      "compiler lacks -mavx512vnni)";
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

TEST_F(Avx512VnniDispatchTest, PreferredOverAvx2WhenAllFiveFeaturesArePresent) {
  const qgemm::CpuFeatures cpu = PretendedAvx512VnniCpu();
  std::string why;
  EXPECT_TRUE(qgemm::IsaUsable(*vnni_, cpu, &why)) << why;
  EXPECT_STREQ(qgemm::BestIsa(cpu).name, "avx512vnni");
  EXPECT_STREQ(qgemm::BestIsa(cpu).table->isa, "avx512vnni");
}

TEST_F(Avx512VnniDispatchTest, AnyOneMissingFeatureFallsBackToAvx2) {
  const qgemm::IsaEntry* avx2 = qgemm::FindIsa("avx2");
  const char* next =
      (avx2 != nullptr && avx2->table != nullptr) ? "avx2" : "scalar";
  // AVX2 too: the avx512vnni table shares AVX2's dot-rows kernel. Without
  // AVX2 the next ISA is scalar.
  const qgemm::CpuFeature kFeatures[] = {qgemm::kAvx512F,    qgemm::kAvx512BW,
                                         qgemm::kAvx512VL,   qgemm::kAvx512DQ,
                                         qgemm::kAvx512Vnni, qgemm::kAvx2};
  for (const qgemm::CpuFeature feature : kFeatures) {
    qgemm::CpuFeatures cpu = PretendedAvx512VnniCpu();
    cpu.bits &= ~feature;
    std::string why;
    EXPECT_FALSE(qgemm::IsaUsable(*vnni_, cpu, &why));
    EXPECT_NE(why.find("avx512vnni"), std::string::npos) << why;
    EXPECT_NE(why.find("AVX-512 F, BW, VL, DQ, VNNI and AVX2"),
              std::string::npos)
        << why;
    EXPECT_STREQ(qgemm::BestIsa(cpu).name,
                 feature == qgemm::kAvx2 ? "scalar" : next);
  }
}

// On the real CPU with AVX-512 hidden: set_isa refuses avx512vnni with a
// message, and the native kernel tests would skip saying the same.
TEST_F(Avx512VnniDispatchTest, HiddenAvx512IsUnsupportedAndNativeTestsSkip) {
  for (uint32_t mask : {uint32_t{qgemm::kAvx512F | qgemm::kAvx512BW |
                                 qgemm::kAvx512VL | qgemm::kAvx512DQ},
                        uint32_t{qgemm::kAvx512Vnni}}) {
    qgemm::HideCpuFeaturesForTesting(mask);
    qgemm_context* ctx = nullptr;
    ASSERT_EQ(qgemm_context_create(1, &ctx), QGEMM_OK);
    EXPECT_EQ(qgemm_context_set_isa(ctx, "avx512vnni"), QGEMM_UNSUPPORTED);
    EXPECT_NE(std::strstr(qgemm_last_error(), "needs AVX-512"), nullptr)
        << qgemm_last_error();
    EXPECT_EQ(qgemm_context_set_isa(ctx, "auto"), QGEMM_OK);
    EXPECT_STRNE(qgemm_context_isa(ctx), "avx512vnni");
    qgemm_context_destroy(ctx);

    bool native_seen = false;
    for (const qgemm_test::TableUnderTest& t : qgemm_test::TablesUnderTest()) {
      if (t.name != "avx512vnni") continue;
      native_seen = true;
      EXPECT_NE(qgemm_test::WhyNotRunnable(t).find("avx512vnni"),
                std::string::npos);
    }
    EXPECT_TRUE(native_seen);
    qgemm::HideCpuFeaturesForTesting(0);
  }
}

// Where the CPU really has it, auto picks it (QGEMM_ISA=avx512vnni is then
// how the whole suite is run natively: tools/ci/device-avx512.sh).
TEST_F(Avx512VnniDispatchTest, AutoPicksItOnACpuThatHasIt) {
  std::string why;
  if (!qgemm::IsaUsable(*vnni_, qgemm::DetectedCpu(), &why)) {
    GTEST_SKIP() << "this CPU cannot run it natively: " << why;
  }
  qgemm_context* ctx = nullptr;
  ASSERT_EQ(qgemm_context_create(1, &ctx), QGEMM_OK);
  EXPECT_EQ(qgemm_context_set_isa(ctx, "auto"), QGEMM_OK);
  EXPECT_STREQ(qgemm_context_isa(ctx), "avx512vnni");
  qgemm_context_destroy(ctx);
}

#if QGEMM_TEST_HAVE_AVX512VNNI_EMULATED
// The emulated build is the same kernel: same tile and packed format, and it
// is among the tables KernelTest runs, runnable on any AVX2 CPU.
TEST_F(Avx512VnniDispatchTest, EmulatedTableIsTheSameKernelAndIsTested) {
  const qgemm_test::TableUnderTest* emulated = nullptr;
  const auto tables = qgemm_test::TablesUnderTest();
  for (const auto& t : tables) {
    if (t.name == "avx512vnni_emulated") emulated = &t;
  }
  ASSERT_NE(emulated, nullptr);
  EXPECT_TRUE(emulated->emulated);
  EXPECT_EQ(emulated->isa, "avx512vnni");
  const qgemm::KernelTable& e = *emulated->table;
  const qgemm::KernelTable& n = *vnni_->table;
  EXPECT_STREQ(e.isa, "avx512vnni_emulated");
  EXPECT_EQ(e.packing_format, n.packing_format);
  EXPECT_EQ(e.mr, n.mr);
  EXPECT_EQ(e.nr, n.nr);
  EXPECT_EQ(e.kr, 4u);
  EXPECT_EQ(n.kr, 4u);
  EXPECT_EQ(e.b_packed_offset[0], 128);
  EXPECT_EQ(n.b_packed_offset[0], 128);
  const qgemm::CpuFeatures& cpu = qgemm::DetectedCpu();
  if (cpu.Has(qgemm::kAvx2 | qgemm::kFma)) {
    EXPECT_EQ(qgemm_test::WhyNotRunnable(*emulated), "");
  }
}
#endif

}  // namespace

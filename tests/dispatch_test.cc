// Dispatch decisions: which ISA runs, given what the CPU (as pretended by
// HideCpuFeaturesForTesting) and the build have; QGEMM_ISA; set_isa errors.
#include <gtest/gtest.h>
#include <qgemm/qgemm.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "dispatch/cpu.h"
#include "dispatch/isa.h"

namespace {

class DispatchTest : public testing::Test {
 protected:
  // The suite may run with QGEMM_ISA set (tools/ci/device-avx512.sh sets
  // avx512vnni): these tests expect it unset, and put it back afterwards.
  void SetUp() override {
    const char* env = std::getenv("QGEMM_ISA");
    had_isa_env_ = env != nullptr;
    if (had_isa_env_) saved_isa_env_ = env;
    unsetenv("QGEMM_ISA");
  }
  void TearDown() override {
    qgemm::HideCpuFeaturesForTesting(0);
    unsetenv("QGEMM_ISA");
    if (had_isa_env_) setenv("QGEMM_ISA", saved_isa_env_.c_str(), 1);
  }
  std::string saved_isa_env_;
  bool had_isa_env_ = false;
  static std::vector<std::string> Supported() {
    const size_t n = qgemm_supported_isas(nullptr, 0);
    std::vector<const char*> names(n);
    qgemm_supported_isas(names.data(), n);
    return {names.begin(), names.end()};
  }
};

TEST_F(DispatchTest, AutoPicksTheFirstUsableIsaInPreferenceOrder) {
  size_t count = 0;
  const qgemm::IsaEntry* list = qgemm::IsaList(&count);
  const qgemm::CpuFeatures cpu = qgemm::EffectiveCpu();
  const char* expected = nullptr;
  for (size_t i = 0; i < count && expected == nullptr; ++i) {
    if (qgemm::IsaUsable(list[i], cpu, nullptr)) expected = list[i].name;
  }
  ASSERT_NE(expected, nullptr);
  EXPECT_STREQ(qgemm_context_isa(nullptr), expected);
  EXPECT_EQ(Supported().front(), expected);
  EXPECT_EQ(Supported().back(), "scalar");
  EXPECT_STREQ(list[count - 1].name, "scalar");
}

// The x86 preference chain on this CPU: avx512vnni > avx2 > scalar, each
// step taken by hiding the features of the one above.
TEST_F(DispatchTest, X86PreferenceChain) {
  const qgemm::CpuFeatures& cpu = qgemm::DetectedCpu();
  if (std::string(cpu.arch) != "x86-64") GTEST_SKIP() << "x86-64 only";
  const qgemm::IsaEntry* vnni = qgemm::FindIsa("avx512vnni");
  const qgemm::IsaEntry* avx2 = qgemm::FindIsa("avx2");
  const bool vnni_here = vnni->table != nullptr && vnni->cpu_runs(cpu);
  const bool avx2_here = avx2->table != nullptr && avx2->cpu_runs(cpu);
  EXPECT_STREQ(qgemm_context_isa(nullptr), vnni_here   ? "avx512vnni"
                                           : avx2_here ? "avx2"
                                                       : "scalar");
  qgemm::HideCpuFeaturesForTesting(qgemm::kFeatureAvx512Vnni);
  EXPECT_STREQ(qgemm_context_isa(nullptr), avx2_here ? "avx2" : "scalar");
  qgemm::HideCpuFeaturesForTesting(qgemm::kFeatureAvx512Vnni |
                                   qgemm::kFeatureAvx2);
  EXPECT_STREQ(qgemm_context_isa(nullptr), "scalar");
}

// Each feature hidden in turn: the ISAs needing it leave the supported list,
// set_isa says UNSUPPORTED with a reason, and auto falls to the next one.
TEST_F(DispatchTest, HiddenFeaturesRemoveIsas) {
  const struct {
    uint32_t mask;
    const char* isa;
  } kCases[] = {
      {qgemm::kFeatureAvx512Vnni, "avx512vnni"},
      {qgemm::kFeatureAvx512, "avx512vnni"},
      {qgemm::kFeatureAvx2, "avx2"},
      {qgemm::kFeatureAsimdDp, "neondot"},
      {qgemm::kFeatureNeon, "neon"},
      {qgemm::kFeatureNeon, "neondot"},
  };
  for (const auto& c : kCases) {
    qgemm::HideCpuFeaturesForTesting(c.mask);
    for (const std::string& s : Supported()) EXPECT_NE(s, c.isa) << c.mask;
    qgemm_context* ctx = nullptr;
    ASSERT_EQ(qgemm_context_create(1, &ctx), QGEMM_OK);
    EXPECT_EQ(qgemm_context_set_isa(ctx, c.isa), QGEMM_UNSUPPORTED) << c.isa;
    EXPECT_NE(std::strstr(qgemm_last_error(), c.isa), nullptr)
        << qgemm_last_error();
    EXPECT_STRNE(qgemm_context_isa(ctx), c.isa);
    EXPECT_EQ(qgemm_context_set_isa(ctx, "scalar"), QGEMM_OK);
    qgemm_context_destroy(ctx);
    qgemm::HideCpuFeaturesForTesting(0);
  }
  // Everything hidden: scalar only.
  qgemm::HideCpuFeaturesForTesting(~0u);
  EXPECT_EQ(Supported(), std::vector<std::string>{"scalar"});
  EXPECT_STREQ(qgemm_context_isa(nullptr), "scalar");
}

TEST_F(DispatchTest, IsasNotInThisBuildAreUnsupportedWithReason) {
  size_t count = 0;
  const qgemm::IsaEntry* list = qgemm::IsaList(&count);
  qgemm_context* ctx = nullptr;
  ASSERT_EQ(qgemm_context_create(1, &ctx), QGEMM_OK);
  for (size_t i = 0; i < count; ++i) {
    if (list[i].table != nullptr) continue;
    EXPECT_EQ(qgemm_context_set_isa(ctx, list[i].name), QGEMM_UNSUPPORTED);
    EXPECT_NE(std::strstr(qgemm_last_error(), "not in this build"), nullptr);
  }
  qgemm_context_destroy(ctx);
}

TEST_F(DispatchTest, EnvironmentVariableSetsTheDefault) {
  ASSERT_EQ(setenv("QGEMM_ISA", "scalar", 1), 0);
  EXPECT_STREQ(qgemm_context_isa(nullptr), "scalar");
  qgemm_context* ctx = nullptr;
  ASSERT_EQ(qgemm_context_create(2, &ctx), QGEMM_OK);
  EXPECT_STREQ(qgemm_context_isa(ctx), "scalar");
  qgemm_context_destroy(ctx);

  ASSERT_EQ(setenv("QGEMM_ISA", "auto", 1), 0);
  EXPECT_STREQ(qgemm_context_isa(nullptr), Supported().front().c_str());
  ASSERT_EQ(setenv("QGEMM_ISA", "", 1), 0);
  EXPECT_STREQ(qgemm_context_isa(nullptr), Supported().front().c_str());

  // A bad QGEMM_ISA is never silently ignored.
  ASSERT_EQ(setenv("QGEMM_ISA", "sse9", 1), 0);
  EXPECT_EQ(qgemm_context_isa(nullptr), nullptr);
  EXPECT_EQ(qgemm_context_create(1, &ctx), QGEMM_INVALID_ARGUMENT);
  EXPECT_NE(std::strstr(qgemm_last_error(), "QGEMM_ISA"), nullptr);
  const uint8_t a = 1, b = 1;
  int32_t c = 5;
  EXPECT_EQ(
      qgemm_u8u8_s32(nullptr, 1, 1, 1, &a, 1, 0, &b, 1, 0, nullptr, &c, 1),
      QGEMM_INVALID_ARGUMENT);
  EXPECT_EQ(c, 5);

  qgemm::HideCpuFeaturesForTesting(~0u);
  for (const char* isa : {"avx2", "avx512vnni", "neon", "neondot"}) {
    ASSERT_EQ(setenv("QGEMM_ISA", isa, 1), 0);
    EXPECT_EQ(qgemm_context_create(1, &ctx), QGEMM_UNSUPPORTED) << isa;
    EXPECT_EQ(
        qgemm_u8u8_s32(nullptr, 1, 1, 1, &a, 1, 0, &b, 1, 0, nullptr, &c, 1),
        QGEMM_UNSUPPORTED);
    EXPECT_EQ(c, 5);
  }
}

TEST_F(DispatchTest, DetectedCpuIsDescribed) {
  const qgemm::CpuFeatures& cpu = qgemm::DetectedCpu();
  EXPECT_STRNE(cpu.arch, "");
#if defined(__x86_64__)
  EXPECT_STREQ(cpu.arch, "x86-64");
  EXPECT_STRNE(cpu.vendor, "");
#endif
}

}  // namespace

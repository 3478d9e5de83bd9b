// Dispatch decisions: which ISA runs, given what the CPU (as pretended by
// HideCpuFeaturesForTesting) and the build have; QGEMM_ISA; set_isa errors.
#include <gtest/gtest.h>
#include <qgemm/qgemm.h>

#include <algorithm>
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

// The bits of an ISA's features that no ISA ranked below it needs: hiding
// them takes this ISA away and nothing below it.
uint32_t OwnFeatures(const qgemm::IsaEntry* list, size_t count, size_t i) {
  uint32_t below = 0;
  for (size_t j = i + 1; j < count; ++j) below |= list[j].features;
  return list[i].features & ~below;
}

// The preference chain on this CPU, from the registry: hiding the features
// of the default ISA that no lower ISA needs makes the next usable one the
// default, down to scalar.
TEST_F(DispatchTest, PreferenceChainFollowsTheRegistry) {
  size_t count = 0;
  const qgemm::IsaEntry* list = qgemm::IsaList(&count);
  uint32_t hidden = 0;
  std::vector<std::string> chain;
  for (size_t steps = 0; steps < count; ++steps) {
    qgemm::HideCpuFeaturesForTesting(hidden);
    const char* got = qgemm_context_isa(nullptr);
    ASSERT_NE(got, nullptr);
    chain.push_back(got);
    // The first registry entry this build has and the pretended CPU runs.
    const qgemm::CpuFeatures cpu = qgemm::EffectiveCpu();
    size_t want = count;
    for (size_t i = 0; i < count && want == count; ++i) {
      if (list[i].table != nullptr && cpu.Has(list[i].features)) want = i;
    }
    ASSERT_LT(want, count);
    EXPECT_STREQ(got, list[want].name);
    if (list[want].features == 0) break;
    hidden |= OwnFeatures(list, count, want);
  }
  EXPECT_EQ(chain.back(), "scalar");
  // Every ISA this CPU runs natively appears in the chain.
  for (const std::string& s : Supported()) {
    EXPECT_NE(std::find(chain.begin(), chain.end(), s), chain.end()) << s;
  }
}

// Each feature an ISA needs, hidden in turn: the ISA leaves the supported
// list, set_isa says UNSUPPORTED naming it, and auto picks something else.
TEST_F(DispatchTest, HiddenFeaturesRemoveIsas) {
  size_t count = 0;
  const qgemm::IsaEntry* list = qgemm::IsaList(&count);
  int cases = 0;
  for (size_t i = 0; i < count; ++i) {
    for (uint32_t bit = 1; bit != 0; bit <<= 1) {
      if ((list[i].features & bit) == 0) continue;
      ++cases;
      const char* isa = list[i].name;
      qgemm::HideCpuFeaturesForTesting(bit);
      for (const std::string& s : Supported()) EXPECT_NE(s, isa) << bit;
      qgemm_context* ctx = nullptr;
      ASSERT_EQ(qgemm_context_create(1, &ctx), QGEMM_OK);
      EXPECT_EQ(qgemm_context_set_isa(ctx, isa), QGEMM_UNSUPPORTED) << isa;
      EXPECT_NE(std::strstr(qgemm_last_error(), isa), nullptr)
          << qgemm_last_error();
      EXPECT_STRNE(qgemm_context_isa(ctx), isa);
      EXPECT_EQ(qgemm_context_set_isa(ctx, "scalar"), QGEMM_OK);
      qgemm_context_destroy(ctx);
      qgemm::HideCpuFeaturesForTesting(0);
    }
  }
  EXPECT_GE(cases, 4);  // the registry really names features
  // Everything hidden: scalar only.
  qgemm::HideCpuFeaturesForTesting(~0u);
  EXPECT_EQ(Supported(), std::vector<std::string>{"scalar"});
  EXPECT_STREQ(qgemm_context_isa(nullptr), "scalar");
}

// The added features (AddCpuFeaturesForTesting, for the AMX trap runs)
// join the detected ones, hidden ones still win, and 0 undoes them.
TEST_F(DispatchTest, AddedFeaturesJoinTheDetectedOnesUntilUndone) {
  const uint32_t detected = qgemm::DetectedCpu().bits;
  uint32_t absent = 0;
  for (uint32_t bit = 1; bit != 0; bit <<= 1) {
    if ((detected & bit) == 0) {
      absent = bit;
      break;
    }
  }
  ASSERT_NE(absent, 0u);
  EXPECT_FALSE(qgemm::EffectiveCpu().Has(absent));
  qgemm::AddCpuFeaturesForTesting(absent);
  EXPECT_TRUE(qgemm::EffectiveCpu().Has(absent));
  EXPECT_EQ(qgemm::EffectiveCpu().bits, detected | absent);
  qgemm::HideCpuFeaturesForTesting(absent);
  EXPECT_FALSE(qgemm::EffectiveCpu().Has(absent));
  qgemm::HideCpuFeaturesForTesting(0);
  qgemm::AddCpuFeaturesForTesting(0);
  EXPECT_EQ(qgemm::EffectiveCpu().bits, detected);
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
  size_t count = 0;
  const qgemm::IsaEntry* list = qgemm::IsaList(&count);
  for (size_t i = 0; i + 1 < count; ++i) {  // all but scalar
    const char* isa = list[i].name;
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

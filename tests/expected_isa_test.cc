// Dispatch under the emulated CPU matrix: tests/CMakeLists.txt runs every
// test once per qemu CPU model (the ISA registry's qemu column, plus max and
// armv7's default CPU) and sets QGEMM_EXPECT_ISA to what "auto" must pick on
// that model. This checks that feature detection reads the emulated CPU's HWCAPs,
// not that the ISA list is ordered (isa.cc says so itself).
#include <gtest/gtest.h>
#include <qgemm/qgemm.h>

#include <cstdlib>
#include <string>

namespace {

TEST(ExpectedIsaTest, AutoPicksTheIsaOfThisCpuModel) {
  const char* want = std::getenv("QGEMM_EXPECT_ISA");
  if (want == nullptr || want[0] == '\0') {
    GTEST_SKIP() << "QGEMM_EXPECT_ISA is set only under the qemu CPU matrix";
  }
  const char* saved = std::getenv("QGEMM_ISA");
  const std::string saved_isa = saved ? saved : "";
  ASSERT_EQ(unsetenv("QGEMM_ISA"), 0);
  const char* got = qgemm_context_isa(nullptr);
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(std::string(got), want);
  qgemm_context* ctx = nullptr;
  ASSERT_EQ(qgemm_context_create(1, &ctx), QGEMM_OK);
  ASSERT_EQ(qgemm_context_set_isa(ctx, "auto"), QGEMM_OK);
  EXPECT_EQ(std::string(qgemm_context_isa(ctx)), want);
  qgemm_context_destroy(ctx);
  if (saved) setenv("QGEMM_ISA", saved_isa.c_str(), 1);
}

}  // namespace

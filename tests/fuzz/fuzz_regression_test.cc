// Replays the fuzzer's seed corpus and every crash reproducer ever found
// (tests/fuzz/corpus/, tests/fuzz/regressions/) through the same decode and
// check as the fuzzer, in the normal suite: a fixed bug stays fixed.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz_case.h"

namespace qgemm_fuzz {
namespace {

std::vector<std::filesystem::path> InputsIn(const char* sub) {
  std::vector<std::filesystem::path> out;
  const std::filesystem::path dir = std::filesystem::path(QGEMM_FUZZ_DIR) / sub;
  if (!std::filesystem::is_directory(dir)) return out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.is_regular_file() && e.path().filename().string()[0] != '.') {
      out.push_back(e.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

void ReplayAll(const char* sub, size_t at_least) {
  const std::vector<std::filesystem::path> files = InputsIn(sub);
  ASSERT_GE(files.size(), at_least) << "inputs missing from " << sub;
  for (const auto& path : files) {
    std::ifstream f(path, std::ios::binary);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(f)),
                                  std::istreambuf_iterator<char>());
    EXPECT_EQ(RunFuzzInput(reinterpret_cast<const uint8_t*>(bytes.data()),
                           bytes.size()),
              "")
        << path;
  }
}

TEST(FuzzReplay, SeedCorpus) {
  const size_t executed_before = ExecutedCalls();
  ReplayAll("corpus", 5);
  // The seeds must reach the kernels, not only the argument checks.
  EXPECT_GE(ExecutedCalls() - executed_before, 3u);
}

TEST(FuzzReplay, CrashRegressions) { ReplayAll("regressions", 1); }

}  // namespace
}  // namespace qgemm_fuzz

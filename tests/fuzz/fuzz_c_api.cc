// libFuzzer entry point over the C API: tests/fuzz/fuzz_case.h describes the
// input and the checks. Any broken promise aborts with a message, so the
// fuzzer keeps the input as a crash reproducer (copy it to
// tests/fuzz/regressions/ to make it a test of the normal suite).
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fuzz_case.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string failure = qgemm_fuzz::RunFuzzInput(data, size);
  if (!failure.empty()) {
    std::fprintf(stderr, "qgemm contract broken: %s\n", failure.c_str());
    std::abort();
  }
  return 0;
}

// Every kernel table the tests can reach: each ISA of the library's list
// (native; runnable only where this CPU has it), the test-only builds of
// kernel sources against SIMDe's emulated intrinsics (and the AMX tile
// model), and amx_trapped: the native amx object with its tile
// instructions trapped and carried out by the tile model
// (tests/emulated/amx_trap.h).
#ifndef QGEMM_TESTS_TABLES_UNDER_TEST_H_
#define QGEMM_TESTS_TABLES_UNDER_TEST_H_

#include <gtest/gtest.h>
#include <qgemm/qgemm.h>

#include <ostream>
#include <string>
#include <vector>

#include "dispatch/kernel_table.h"

namespace qgemm_test {

struct TableUnderTest {
  std::string name;                 // "avx2", "avx512vnni_emulated", ...
  std::string isa;                  // the library ISA name behind it
  const qgemm::KernelTable* table;  // null: not in this build
  bool emulated;         // not reached through dispatch (QGEMM_ISA, set_isa)
  bool trapped = false;  // the native object under the SIGILL tile trap
};

std::vector<TableUnderTest> TablesUnderTest();

// gtest prints parameters with this (test names in ctest, failure messages).
void PrintTo(const TableUnderTest& t, std::ostream* os);

// "" when the table can run here, else why not (for GTEST_SKIP).
std::string WhyNotRunnable(const TableUnderTest& t);

// Points ctx at the table: through qgemm_context_set_isa for a native ISA,
// directly for an emulated one. Returns "" or the error.
std::string UseTable(qgemm_context* ctx, const TableUnderTest& t);

// Fixture of a test run once per table (INSTANTIATE_TEST_SUITE_P over
// TablesUnderTest(), named by TableParamName): a table that cannot run here
// is skipped with the reason, so each table shows as passed, failed or
// skipped on its own.
class PerTableTest : public testing::TestWithParam<TableUnderTest> {
 protected:
  void SetUp() override;
};

std::string TableParamName(const testing::TestParamInfo<TableUnderTest>& info);

}  // namespace qgemm_test

#endif  // QGEMM_TESTS_TABLES_UNDER_TEST_H_

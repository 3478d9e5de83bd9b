#include "tables_under_test.h"

#include "dispatch/context.h"
#include "dispatch/cpu.h"
#include "dispatch/isa.h"
#include "tests/emulated/amx_trap.h"

namespace qgemm {
#if QGEMM_TEST_HAVE_AVX512VNNI_EMULATED
namespace avx512vnni_emulated {
extern const KernelTable kTable;
}
#endif
#if QGEMM_TEST_HAVE_AMX_EMULATED
namespace amx_emulated {
extern const KernelTable kTable;
}
#endif
#if QGEMM_TEST_HAVE_AVXVNNI_EMULATED
namespace avxvnni_emulated {
extern const KernelTable kTable;
}
#endif
}  // namespace qgemm

namespace qgemm_test {

std::vector<TableUnderTest> TablesUnderTest() {
  std::vector<TableUnderTest> out;
  size_t count = 0;
  const qgemm::IsaEntry* list = qgemm::IsaList(&count);
  for (size_t i = 0; i < count; ++i) {
    if (list[i].table == nullptr) continue;  // not in this build
    out.push_back({list[i].name, list[i].name, list[i].table, false});
#if QGEMM_TEST_HAVE_AMX_TRAP
    if (std::string(list[i].name) == "amx") {
      out.push_back({"amx_trapped", "amx", list[i].table, true, true});
    }
#endif
  }
#if QGEMM_TEST_HAVE_AVX512VNNI_EMULATED
  out.push_back({"avx512vnni_emulated", "avx512vnni",
                 &qgemm::avx512vnni_emulated::kTable, true});
#endif
#if QGEMM_TEST_HAVE_AVXVNNI_EMULATED
  out.push_back(
      {"avxvnni_emulated", "avxvnni", &qgemm::avxvnni_emulated::kTable, true});
#endif
#if QGEMM_TEST_HAVE_AMX_EMULATED
  out.push_back({"amx_emulated", "amx", &qgemm::amx_emulated::kTable, true});
#endif
  return out;
}

void PrintTo(const TableUnderTest& t, std::ostream* os) {
  *os << t.name
      << (t.trapped    ? " (native, tiles trapped)"
          : t.emulated ? " (emulated)"
                       : "");
}

std::string WhyNotRunnable(const TableUnderTest& t) {
#if QGEMM_TEST_HAVE_AMX_TRAP
  if (t.trapped) return qgemm_test::InstallAmxTrap();
#endif
  if (t.emulated) {
    // SIMDe builds are compiled with -mavx2 -mfma (tests/CMakeLists.txt).
    const qgemm::CpuFeatures& cpu = qgemm::DetectedCpu();
    if (cpu.Has(qgemm::kAvx2 | qgemm::kFma)) return "";
    return "its SIMDe build is compiled for AVX2 and FMA, which this CPU lacks";
  }
  const qgemm::IsaEntry* e = qgemm::FindIsa(t.isa.c_str());
  std::string why;
  if (e == nullptr) return "unknown ISA " + t.isa;
  if (!qgemm::IsaUsable(*e, qgemm::EffectiveCpu(), &why)) return why;
  return "";
}

std::string UseTable(qgemm_context* ctx, const TableUnderTest& t) {
  if (t.emulated) {
    ctx->table = t.table;
    return "";
  }
  const qgemm_status st = qgemm_context_set_isa(ctx, t.isa.c_str());
  if (st != QGEMM_OK) return qgemm_last_error();
  return "";
}

void PerTableTest::SetUp() {
  const std::string why = WhyNotRunnable(GetParam());
  if (!why.empty()) {
    GTEST_SKIP() << GetParam().name << " cannot run here: " << why;
  }
}

std::string TableParamName(const testing::TestParamInfo<TableUnderTest>& info) {
  return info.param.name;
}

}  // namespace qgemm_test

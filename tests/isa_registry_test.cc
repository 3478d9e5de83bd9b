// The ISA registry (dispatch/isa_registry.def) and the rules every kernel
// table obeys: the registry is well formed, every table of this build and
// every emulated one passes CheckKernelTable, a table that breaks a rule is
// refused with the reason, and the optional hooks run where they must.
#include <gtest/gtest.h>
#include <qgemm/qgemm.h>

#include <atomic>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "dispatch/context.h"
#include "dispatch/driver.h"
#include "dispatch/isa.h"
#include "tables_under_test.h"
#include "tests/gemm_case.h"

namespace {

TEST(IsaRegistry, NamesAndIdsAreUniqueAndScalarIsLast) {
  size_t count = 0;
  const qgemm::IsaEntry* list = qgemm::IsaList(&count);
  ASSERT_GE(count, 5u);
  std::set<std::string> names;
  std::set<uint32_t> ids;
  for (size_t i = 0; i < count; ++i) {
    EXPECT_TRUE(names.insert(list[i].name).second) << list[i].name;
    EXPECT_TRUE(ids.insert(list[i].id).second) << list[i].name;
    EXPECT_STRNE(list[i].needs, "") << list[i].name;
    EXPECT_EQ(qgemm::FindIsa(list[i].name), &list[i]);
    EXPECT_EQ(qgemm::FindIsaById(list[i].id), &list[i]);
  }
  EXPECT_STREQ(list[count - 1].name, "scalar");
  EXPECT_EQ(list[count - 1].features, 0u);
  ASSERT_NE(list[count - 1].table, nullptr);  // every build has scalar
  EXPECT_EQ(qgemm::FindIsa("no-such-isa"), nullptr);
}

// The ids are the fuzzer's names for ISAs (stored inputs rely on them):
// these may never change.
TEST(IsaRegistry, IdsOfExistingIsasNeverChange) {
  const struct {
    const char* name;
    uint32_t id;
  } kFixed[] = {{"scalar", 0},  {"avx2", 1},    {"avx512vnni", 2}, {"neon", 3},
                {"neondot", 4}, {"avxvnni", 5}, {"neoni8mm", 6},   {"amx", 7}};
  for (const auto& f : kFixed) {
    const qgemm::IsaEntry* e = qgemm::FindIsa(f.name);
    ASSERT_NE(e, nullptr) << f.name;
    EXPECT_EQ(e->id, f.id) << f.name;
  }
}

TEST(IsaRegistry, EveryTableOfThisBuildKeepsTheRules) {
  size_t count = 0;
  const qgemm::IsaEntry* list = qgemm::IsaList(&count);
  std::set<uint32_t> formats;
  for (size_t i = 0; i < count; ++i) {
    const qgemm::KernelTable* t = list[i].table;
    if (t == nullptr) continue;
    std::string why;
    EXPECT_TRUE(qgemm::CheckKernelTable(*t, &why))
        << list[i].name << ": " << why;
    EXPECT_STREQ(t->isa, list[i].name);
    EXPECT_TRUE(formats.insert(t->packing_format).second)
        << list[i].name << " shares a packing_format";
    // Usable or not, never because a rule is broken.
    std::string not_usable;
    qgemm::IsaUsable(list[i], qgemm::DetectedCpu(), &not_usable);
    EXPECT_EQ(not_usable.find("breaks a rule"), std::string::npos)
        << not_usable;
  }
  for (const qgemm_test::TableUnderTest& t : qgemm_test::TablesUnderTest()) {
    std::string why;
    EXPECT_TRUE(qgemm::CheckKernelTable(*t.table, &why))
        << t.name << ": " << why;
  }
}

// Each rule, broken on a copy of the scalar table, is refused with a reason
// that names it, and dispatch will not use such a table.
TEST(IsaRegistry, ATableThatBreaksARuleIsRefused) {
  const qgemm::IsaEntry* scalar = qgemm::FindIsa("scalar");
  ASSERT_NE(scalar, nullptr);
  const struct {
    const char* rule;
    void (*breaks)(qgemm::KernelTable* t);
  } kBroken[] = {
      {"kr", [](qgemm::KernelTable* t) { t->kr = 3; }},
      {"kr", [](qgemm::KernelTable* t) { t->kr = 0; }},
      {"nr", [](qgemm::KernelTable* t) { t->nr = 65; }},
      {"mr", [](qgemm::KernelTable* t) { t->mr = 0; }},
      {"variant 0", [](qgemm::KernelTable* t) { t->gemm_u8[0] = nullptr; }},
      {"variant 1",
       [](qgemm::KernelTable* t) { t->gemm_u8[1] = t->gemm_u8[0]; }},
      {"variant 0", [](qgemm::KernelTable* t) { t->gemm_f32[0] = nullptr; }},
      {"float",
       [](qgemm::KernelTable* t) {
         // A second variant with uint8 and int32 kernels but no float one.
         t->gemm_u8[1] = t->gemm_u8[0];
         t->gemm_s32[1] = t->gemm_s32[0];
       }},
      {"packing function",
       [](qgemm::KernelTable* t) { t->pack_b_panel = nullptr; }},
      {"thread_begin", [](qgemm::KernelTable* t) { t->thread_begin = [] {}; }},
  };
  for (const auto& b : kBroken) {
    qgemm::KernelTable broken = *scalar->table;
    b.breaks(&broken);
    std::string why;
    EXPECT_FALSE(qgemm::CheckKernelTable(broken, &why)) << b.rule;
    EXPECT_NE(why.find(b.rule), std::string::npos) << why;
    qgemm::IsaEntry entry = *scalar;
    entry.table = &broken;
    EXPECT_FALSE(qgemm::IsaUsable(entry, qgemm::DetectedCpu(), &why));
    EXPECT_NE(why.find("breaks a rule"), std::string::npos) << why;
  }
}

TEST(IsaRegistry, AnEnableHookThatRefusesMakesTheIsaUnusableWithItsReason) {
  const qgemm::IsaEntry* scalar = qgemm::FindIsa("scalar");
  ASSERT_NE(scalar, nullptr);
  qgemm::KernelTable refusing = *scalar->table;
  refusing.enable = [] { return "the OS said no (test)"; };
  qgemm::IsaEntry entry = *scalar;
  entry.table = &refusing;
  std::string why;
  EXPECT_FALSE(qgemm::IsaUsable(entry, qgemm::DetectedCpu(), &why));
  EXPECT_NE(why.find("could not be enabled: the OS said no (test)"),
            std::string::npos)
      << why;
  qgemm::KernelTable agreeing = *scalar->table;
  agreeing.enable = []() -> const char* { return nullptr; };
  entry.table = &agreeing;
  EXPECT_TRUE(qgemm::IsaUsable(entry, qgemm::DetectedCpu(), &why)) << why;
}

// Thread hooks bracket every kernel call on every thread that makes one, and
// none is left open when the call returns, at 1, 2 and 4 threads.
std::atomic<int> g_open_threads{0};
std::atomic<int> g_begins{0};
std::atomic<int> g_unbracketed_kernel_calls{0};
thread_local bool t_configured = false;
qgemm::GemmTileFn g_real_u8 = nullptr;
qgemm::GemmTileFn g_real_s32 = nullptr;

void CountingBegin() {
  if (t_configured) g_unbracketed_kernel_calls++;  // nested begin
  t_configured = true;
  g_open_threads++;
  g_begins++;
}
void CountingEnd() {
  t_configured = false;
  g_open_threads--;
}
void CheckedU8(const qgemm::TileArgs* args) {
  if (!t_configured) g_unbracketed_kernel_calls++;
  g_real_u8(args);
}
void CheckedS32(const qgemm::TileArgs* args) {
  if (!t_configured) g_unbracketed_kernel_calls++;
  g_real_s32(args);
}

TEST(IsaRegistry, ThreadHooksBracketEveryKernelCallOnEveryThread) {
  const qgemm::IsaEntry* scalar = qgemm::FindIsa("scalar");
  ASSERT_NE(scalar, nullptr);
  qgemm::KernelTable hooked = *scalar->table;
  g_real_u8 = hooked.gemm_u8[0];
  g_real_s32 = hooked.gemm_s32[0];
  hooked.gemm_u8[0] = CheckedU8;
  hooked.gemm_s32[0] = CheckedS32;
  hooked.thread_begin = CountingBegin;
  hooked.thread_end = CountingEnd;
  const qgemm_test::TableUnderTest t{"scalar_hooked", "scalar", &hooked,
                                     /*emulated=*/true};
  // Split however small: every thread runs kernels.
  qgemm::SplitEveryCallForTesting(true);
  for (int threads : {1, 2, 4}) {
    qgemm_context* ctx = nullptr;
    ASSERT_EQ(qgemm_context_create(threads, &ctx), QGEMM_OK);
    ASSERT_EQ(qgemm_test::UseTable(ctx, t), "");
    g_begins = 0;
    qgemm_test::GemmCase gc;
    gc.m = 67;
    gc.n = 45;
    gc.k = 19;
    for (qgemm_test::Call call :
         {qgemm_test::Call::kRequant, qgemm_test::Call::kS32,
          qgemm_test::Call::kPackedNK, qgemm_test::Call::kPackedS32}) {
      EXPECT_EQ(qgemm_test::RunCase(ctx, gc, call), "") << threads;
      EXPECT_EQ(g_open_threads.load(), 0) << "a thread was left configured";
    }
    EXPECT_GE(g_begins.load(), 4 * threads);
    EXPECT_EQ(g_unbracketed_kernel_calls.load(), 0);
    qgemm_context_destroy(ctx);
  }
  qgemm::SplitEveryCallForTesting(false);
}

}  // namespace

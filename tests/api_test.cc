// The C API's contract for bad input (docs/design.md, "Public C API"): every
// bad argument gets its status, C stays untouched, nothing crashes. Plus the
// edge sizes that are valid (m, n or k = 0) and the status strings.
#include <gtest/gtest.h>
#include <qgemm/qgemm.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

namespace {

constexpr size_t kHuge = std::numeric_limits<size_t>::max();

// A small valid problem; each test breaks one argument.
struct Problem {
  size_t m = 5, n = 7, k = 9;
  std::vector<uint8_t> a = std::vector<uint8_t>(5 * 9, 3);
  std::vector<uint8_t> b = std::vector<uint8_t>(9 * 7, 5);
  std::vector<uint8_t> c = std::vector<uint8_t>(5 * 7, 0xCD);
  std::vector<int32_t> c32 = std::vector<int32_t>(5 * 7, 0x0BADF00D);
  int32_t multiplier = 1 << 30, shift = -3;
  std::vector<int32_t> bias = std::vector<int32_t>(7, 11);
  qgemm_requant rq{};
  Problem() {
    rq.bias = bias.data();
    rq.multiplier = &multiplier;
    rq.shift = &shift;
    rq.per_channel = 0;
    rq.c_zero_point = 128;
    rq.c_min = 0;
    rq.c_max = 255;
  }
  qgemm_status Requant(qgemm_context* ctx = nullptr) {
    return qgemm_u8u8_requant(ctx, m, n, k, a.data(), k, 1, b.data(), n, 2, &rq,
                              c.data(), n);
  }
  bool CUntouched() const {
    for (uint8_t x : c) {
      if (x != 0xCD) return false;
    }
    for (int32_t x : c32) {
      if (x != 0x0BADF00D) return false;
    }
    return true;
  }
};

TEST(ApiTest, StatusStrings) {
  EXPECT_STREQ(qgemm_status_string(QGEMM_OK), "QGEMM_OK");
  EXPECT_STREQ(qgemm_status_string(QGEMM_INVALID_ARGUMENT),
               "QGEMM_INVALID_ARGUMENT");
  EXPECT_STREQ(qgemm_status_string(QGEMM_OUT_OF_MEMORY), "QGEMM_OUT_OF_MEMORY");
  EXPECT_STREQ(qgemm_status_string(QGEMM_UNSUPPORTED), "QGEMM_UNSUPPORTED");
  EXPECT_STREQ(qgemm_status_string(static_cast<qgemm_status>(42)),
               "QGEMM_UNKNOWN_STATUS");
}

TEST(ApiTest, ValidProblemRunsAndClearsLastError) {
  Problem p;
  EXPECT_EQ(p.Requant(), QGEMM_OK);
  EXPECT_STREQ(qgemm_last_error(), "");
  EXPECT_FALSE(p.CUntouched());
}

struct BadRequantCase {
  const char* what;
  void (*breaks)(Problem&);
  const char* message_part;
};

const BadRequantCase kBadRequantCases[] = {
    {"null A",
     [](Problem& p) {
       p.a.clear();
       p.a.shrink_to_fit();
     },
     "A is NULL"},
    {"null requant", [](Problem& p) { p.rq.multiplier = nullptr; },
     "multiplier"},
    {"null shift", [](Problem& p) { p.rq.shift = nullptr; }, "shift"},
    {"shift 31", [](Problem& p) { p.shift = 31; }, "shift"},
    {"shift -32", [](Problem& p) { p.shift = -32; }, "shift"},
    {"negative multiplier", [](Problem& p) { p.multiplier = -1; },
     "multiplier"},
    {"c_min > c_max",
     [](Problem& p) {
       p.rq.c_min = 200;
       p.rq.c_max = 100;
     },
     "c_min"},
    {"zero point 256", [](Problem& p) { p.rq.c_zero_point = 256; },
     "c_zero_point"},
    {"zero point -1", [](Problem& p) { p.rq.c_zero_point = -1; },
     "c_zero_point"},
    {"per_channel 2", [](Problem& p) { p.rq.per_channel = 2; }, "per_channel"},
};

class BadRequantTest : public testing::TestWithParam<BadRequantCase> {};

TEST_P(BadRequantTest, ReturnsInvalidArgumentAndLeavesCUntouched) {
  Problem p;
  GetParam().breaks(p);
  const uint8_t* a = p.a.empty() ? nullptr : p.a.data();
  EXPECT_EQ(qgemm_u8u8_requant(nullptr, p.m, p.n, p.k, a, p.k, 1, p.b.data(),
                               p.n, 2, &p.rq, p.c.data(), p.n),
            QGEMM_INVALID_ARGUMENT);
  EXPECT_NE(std::strstr(qgemm_last_error(), GetParam().message_part), nullptr)
      << qgemm_last_error();
  EXPECT_TRUE(p.CUntouched());
}

INSTANTIATE_TEST_SUITE_P(Api, BadRequantTest,
                         testing::ValuesIn(kBadRequantCases),
                         [](const testing::TestParamInfo<BadRequantCase>& i) {
                           std::string s = i.param.what;
                           for (char& ch : s) {
                             if (!isalnum(static_cast<unsigned char>(ch)))
                               ch = '_';
                           }
                           return s;
                         });

TEST(ApiTest, NullPointersAndStrides) {
  Problem p;
  const auto run = [&](const uint8_t* a, size_t lda, const uint8_t* b,
                       size_t ldb, const qgemm_requant* rq, uint8_t* c,
                       size_t ldc) {
    return qgemm_u8u8_requant(nullptr, p.m, p.n, p.k, a, lda, 1, b, ldb, 2, rq,
                              c, ldc);
  };
  EXPECT_EQ(run(p.a.data(), p.k, nullptr, p.n, &p.rq, p.c.data(), p.n),
            QGEMM_INVALID_ARGUMENT);
  EXPECT_EQ(run(p.a.data(), p.k, p.b.data(), p.n, &p.rq, nullptr, p.n),
            QGEMM_INVALID_ARGUMENT);
  EXPECT_EQ(run(p.a.data(), p.k, p.b.data(), p.n, nullptr, p.c.data(), p.n),
            QGEMM_INVALID_ARGUMENT);
  EXPECT_EQ(run(p.a.data(), p.k - 1, p.b.data(), p.n, &p.rq, p.c.data(), p.n),
            QGEMM_INVALID_ARGUMENT);
  EXPECT_NE(std::strstr(qgemm_last_error(), "stride of A"), nullptr);
  EXPECT_EQ(run(p.a.data(), p.k, p.b.data(), p.n - 1, &p.rq, p.c.data(), p.n),
            QGEMM_INVALID_ARGUMENT);
  EXPECT_EQ(run(p.a.data(), p.k, p.b.data(), p.n, &p.rq, p.c.data(), p.n - 1),
            QGEMM_INVALID_ARGUMENT);
  EXPECT_TRUE(p.CUntouched());
  // s32: the same checks.
  EXPECT_EQ(qgemm_u8u8_s32(nullptr, p.m, p.n, p.k, p.a.data(), p.k, 0,
                           p.b.data(), p.n, 0, nullptr, p.c32.data(), p.n - 1),
            QGEMM_INVALID_ARGUMENT);
  EXPECT_EQ(qgemm_u8u8_s32(nullptr, p.m, p.n, p.k, p.a.data(), p.k, 0, nullptr,
                           p.n, 0, nullptr, p.c32.data(), p.n),
            QGEMM_INVALID_ARGUMENT);
  EXPECT_TRUE(p.CUntouched());
}

TEST(ApiTest, SizesThatOverflowAreInvalid) {
  Problem p;
  uint8_t one = 0;
  // (m - 1) * lda + k overflows size_t.
  EXPECT_EQ(qgemm_u8u8_requant(nullptr, kHuge / 2, 1, 4, p.a.data(), 4, 0,
                               p.b.data(), 1, 0, &p.rq, &one, kHuge / 2),
            QGEMM_INVALID_ARGUMENT);
  EXPECT_EQ(qgemm_u8u8_requant(nullptr, 3, 1, kHuge, p.a.data(), kHuge, 0,
                               p.b.data(), 1, 0, &p.rq, &one, 1),
            QGEMM_INVALID_ARGUMENT);
  // int32 C: m * ldc * 4 bytes overflows.
  int32_t c32 = 7;
  EXPECT_EQ(qgemm_u8u8_s32(nullptr, kHuge / 4, 2, 1, p.a.data(), 1, 0,
                           p.b.data(), 2, 0, nullptr, &c32, 2),
            QGEMM_INVALID_ARGUMENT);
  EXPECT_EQ(c32, 7);
  qgemm_packed_b* packed = nullptr;
  EXPECT_EQ(qgemm_pack_b(nullptr, kHuge - 2, kHuge / 3, p.b.data(), kHuge / 3,
                         QGEMM_LAYOUT_KN, 0, &packed),
            QGEMM_INVALID_ARGUMENT);
  EXPECT_EQ(packed, nullptr);
}

TEST(ApiTest, EmptySizesAreValid) {
  Problem p;
  // m = 0 or n = 0: nothing to write; C may be NULL.
  EXPECT_EQ(qgemm_u8u8_requant(nullptr, 0, p.n, p.k, nullptr, p.k, 0,
                               p.b.data(), p.n, 0, &p.rq, nullptr, p.n),
            QGEMM_OK);
  EXPECT_EQ(qgemm_u8u8_requant(nullptr, p.m, 0, p.k, p.a.data(), p.k, 0,
                               nullptr, 0, 0, &p.rq, nullptr, 0),
            QGEMM_OK);
  // Per channel with n = 0 may pass NULL arrays (an empty vector's data()).
  qgemm_requant pc = p.rq;
  pc.per_channel = 1;
  pc.multiplier = nullptr;
  pc.shift = nullptr;
  EXPECT_EQ(qgemm_u8u8_requant(nullptr, p.m, 0, p.k, p.a.data(), p.k, 0,
                               nullptr, 0, 0, &pc, nullptr, 0),
            QGEMM_OK);
  // k = 0: acc = bias, so C = requant(bias).
  std::vector<uint8_t> c(p.m * p.n, 0);
  ASSERT_EQ(qgemm_u8u8_requant(nullptr, p.m, p.n, 0, nullptr, 0, 9, nullptr,
                               p.n, 9, &p.rq, c.data(), p.n),
            QGEMM_OK);
  // bias 11, M = 0.5 * 2^-3: 11/16 = 0.6875 -> 1; + 128.
  for (uint8_t x : c) EXPECT_EQ(x, 129);
  std::vector<int32_t> c32(p.m * p.n, 0);
  ASSERT_EQ(qgemm_u8u8_s32(nullptr, p.m, p.n, 0, nullptr, 0, 9, nullptr, p.n, 9,
                           p.bias.data(), c32.data(), p.n),
            QGEMM_OK);
  for (int32_t x : c32) EXPECT_EQ(x, 11);
  ASSERT_EQ(qgemm_u8u8_s32(nullptr, p.m, p.n, 0, nullptr, 0, 9, nullptr, p.n, 9,
                           nullptr, c32.data(), p.n),
            QGEMM_OK);
  for (int32_t x : c32) EXPECT_EQ(x, 0);
}

TEST(ApiTest, ContextCreateAndIsa) {
  EXPECT_EQ(qgemm_context_create(1, nullptr), QGEMM_INVALID_ARGUMENT);
  qgemm_context* ctx = reinterpret_cast<qgemm_context*>(1);
  EXPECT_EQ(qgemm_context_create(-1, &ctx), QGEMM_INVALID_ARGUMENT);
  EXPECT_EQ(ctx, nullptr);
  ASSERT_EQ(qgemm_context_create(0, &ctx), QGEMM_OK);
  EXPECT_GE(qgemm_context_num_threads(ctx), 1);
  EXPECT_EQ(qgemm_context_set_isa(ctx, "no-such-isa"), QGEMM_INVALID_ARGUMENT);
  EXPECT_NE(std::strstr(qgemm_last_error(), "unknown ISA"), nullptr);
  EXPECT_EQ(qgemm_context_set_isa(ctx, nullptr), QGEMM_INVALID_ARGUMENT);
  EXPECT_EQ(qgemm_context_set_isa(nullptr, "scalar"), QGEMM_INVALID_ARGUMENT);
  EXPECT_EQ(qgemm_context_set_isa(ctx, "scalar"), QGEMM_OK);
  EXPECT_STREQ(qgemm_context_isa(ctx), "scalar");
  EXPECT_EQ(qgemm_context_set_isa(ctx, "auto"), QGEMM_OK);
  const char* best = nullptr;
  ASSERT_GE(qgemm_supported_isas(&best, 1), 1u);
  EXPECT_STREQ(qgemm_context_isa(ctx), best);
  qgemm_context_destroy(ctx);
  qgemm_context_destroy(nullptr);  // allowed, does nothing
}

TEST(ApiTest, SupportedIsasEndWithScalar) {
  const size_t count = qgemm_supported_isas(nullptr, 0);
  ASSERT_GE(count, 1u);
  std::vector<const char*> names(count + 2, nullptr);
  EXPECT_EQ(qgemm_supported_isas(names.data(), names.size()), count);
  EXPECT_STREQ(names[count - 1], "scalar");
  EXPECT_EQ(names[count], nullptr);  // nothing written past count
  // A short capacity writes only that many and still returns the count.
  std::vector<const char*> one(1, nullptr);
  EXPECT_EQ(qgemm_supported_isas(one.data(), 1), count);
  EXPECT_STREQ(one[0], names[0]);
}

TEST(ApiTest, PackBArguments) {
  Problem p;
  qgemm_packed_b* packed = reinterpret_cast<qgemm_packed_b*>(1);
  EXPECT_EQ(qgemm_pack_b(nullptr, p.k, p.n, p.b.data(), p.n,
                         static_cast<qgemm_layout>(7), 0, &packed),
            QGEMM_INVALID_ARGUMENT);
  EXPECT_EQ(packed, nullptr);
  EXPECT_EQ(qgemm_pack_b(nullptr, p.k, p.n, nullptr, p.n, QGEMM_LAYOUT_KN, 0,
                         &packed),
            QGEMM_INVALID_ARGUMENT);
  EXPECT_EQ(qgemm_pack_b(nullptr, p.k, p.n, p.b.data(), p.n, QGEMM_LAYOUT_KN, 0,
                         nullptr),
            QGEMM_INVALID_ARGUMENT);
  // NK layout: ldb must cover k.
  EXPECT_EQ(qgemm_pack_b(nullptr, p.k, p.n, p.b.data(), p.k - 1,
                         QGEMM_LAYOUT_NK, 0, &packed),
            QGEMM_INVALID_ARGUMENT);
  ASSERT_EQ(qgemm_pack_b(nullptr, p.k, p.n, p.b.data(), p.n, QGEMM_LAYOUT_KN, 2,
                         &packed),
            QGEMM_OK);
  EXPECT_EQ(qgemm_packed_b_k(packed), p.k);
  EXPECT_EQ(qgemm_packed_b_n(packed), p.n);
  EXPECT_STREQ(qgemm_packed_b_isa(packed), qgemm_context_isa(nullptr));
  EXPECT_EQ(qgemm_u8u8_requant_packed(nullptr, p.m, p.a.data(), p.k, 1, nullptr,
                                      &p.rq, p.c.data(), p.n),
            QGEMM_INVALID_ARGUMENT);
  EXPECT_EQ(qgemm_u8u8_requant_packed(nullptr, p.m, p.a.data(), p.k - 1, 1,
                                      packed, &p.rq, p.c.data(), p.n),
            QGEMM_INVALID_ARGUMENT);
  p.shift = 40;
  EXPECT_EQ(qgemm_u8u8_requant_packed(nullptr, p.m, p.a.data(), p.k, 1, packed,
                                      &p.rq, p.c.data(), p.n),
            QGEMM_INVALID_ARGUMENT);
  EXPECT_TRUE(p.CUntouched());
  p.shift = -3;
  // The packed call gives the same bytes as the unpacked one.
  EXPECT_EQ(qgemm_u8u8_requant_packed(nullptr, p.m, p.a.data(), p.k, 1, packed,
                                      &p.rq, p.c.data(), p.n),
            QGEMM_OK);
  std::vector<uint8_t> unpacked(p.c.size());
  ASSERT_EQ(qgemm_u8u8_requant(nullptr, p.m, p.n, p.k, p.a.data(), p.k, 1,
                               p.b.data(), p.n, 2, &p.rq, unpacked.data(), p.n),
            QGEMM_OK);
  EXPECT_EQ(p.c, unpacked);
  qgemm_packed_b_destroy(packed);
  qgemm_packed_b_destroy(nullptr);
  EXPECT_EQ(qgemm_packed_b_k(nullptr), 0u);
  EXPECT_EQ(qgemm_packed_b_isa(nullptr), nullptr);
}

// A B packed for one ISA used with a context on another must not give
// garbage: same packing format runs, another format is a clear error.
TEST(ApiTest, PackedBOnAnotherIsa) {
  const size_t count = qgemm_supported_isas(nullptr, 0);
  std::vector<const char*> isas(count);
  qgemm_supported_isas(isas.data(), count);
  Problem p;
  for (const char* pack_isa : isas) {
    qgemm_context* pack_ctx = nullptr;
    ASSERT_EQ(qgemm_context_create(1, &pack_ctx), QGEMM_OK);
    ASSERT_EQ(qgemm_context_set_isa(pack_ctx, pack_isa), QGEMM_OK);
    qgemm_packed_b* packed = nullptr;
    ASSERT_EQ(qgemm_pack_b(pack_ctx, p.k, p.n, p.b.data(), p.n, QGEMM_LAYOUT_KN,
                           2, &packed),
              QGEMM_OK);
    EXPECT_STREQ(qgemm_packed_b_isa(packed), pack_isa);
    for (const char* run_isa : isas) {
      qgemm_context* ctx = nullptr;
      ASSERT_EQ(qgemm_context_create(1, &ctx), QGEMM_OK);
      ASSERT_EQ(qgemm_context_set_isa(ctx, run_isa), QGEMM_OK);
      std::vector<uint8_t> c(p.c.size(), 0xCD);
      const qgemm_status st = qgemm_u8u8_requant_packed(
          ctx, p.m, p.a.data(), p.k, 1, packed, &p.rq, c.data(), p.n);
      if (std::strcmp(pack_isa, run_isa) == 0) {
        EXPECT_EQ(st, QGEMM_OK) << qgemm_last_error();
      }
      if (st == QGEMM_OK) {
        std::vector<uint8_t> want(p.c.size());
        ASSERT_EQ(
            qgemm_u8u8_requant(ctx, p.m, p.n, p.k, p.a.data(), p.k, 1,
                               p.b.data(), p.n, 2, &p.rq, want.data(), p.n),
            QGEMM_OK);
        EXPECT_EQ(c, want) << pack_isa << " -> " << run_isa;
      } else {
        EXPECT_EQ(st, QGEMM_INVALID_ARGUMENT);
        EXPECT_NE(std::strstr(qgemm_last_error(), "packed for ISA"), nullptr);
        for (uint8_t x : c) ASSERT_EQ(x, 0xCD);
      }
      qgemm_context_destroy(ctx);
    }
    qgemm_packed_b_destroy(packed);
    qgemm_context_destroy(pack_ctx);
  }
}

}  // namespace

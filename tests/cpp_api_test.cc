// The C++ wrappers of <qgemm/qgemm.hpp> end to end: results against the
// int64 reference, errors as exceptions (throwing forms) or statuses (try_
// forms) with C untouched, and ownership (run under ASan to see leaks and
// double frees).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <qgemm/qgemm.hpp>
#include <qgemm/quantization.hpp>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "dispatch/isa.h"
#include "reference.h"

namespace qgemm_test {
namespace {

static_assert(!std::is_copy_constructible<qgemm::Context>::value, "");
static_assert(!std::is_copy_assignable<qgemm::Context>::value, "");
static_assert(std::is_nothrow_move_constructible<qgemm::Context>::value, "");
static_assert(std::is_nothrow_move_assignable<qgemm::Context>::value, "");
static_assert(!std::is_copy_constructible<qgemm::PackedB>::value, "");
static_assert(std::is_nothrow_move_constructible<qgemm::PackedB>::value, "");
static_assert(std::is_nothrow_move_assignable<qgemm::PackedB>::value, "");
static_assert(std::is_convertible<qgemm::MatrixView<uint8_t>,
                                  qgemm::MatrixView<const uint8_t>>::value,
              "");
static_assert(!std::is_convertible<qgemm::MatrixView<const uint8_t>,
                                   qgemm::MatrixView<uint8_t>>::value,
              "");

// A matrix in a buffer with a padded stride; the padding holds a sentinel.
template <typename T>
struct Matrix {
  std::vector<T> buf;
  size_t rows, cols, stride;
  Matrix(size_t r, size_t c, size_t pad, T fill)
      : buf(r * (c + pad) + 1, fill), rows(r), cols(c), stride(c + pad) {}
  qgemm::MatrixView<T> view() { return {buf.data(), rows, cols, stride}; }
  qgemm::MatrixView<const T> cview() const {
    return {buf.data(), rows, cols, stride};
  }
};

Matrix<uint8_t> RandomU8(size_t rows, size_t cols, size_t pad,
                         std::mt19937* rng) {
  Matrix<uint8_t> m(rows, cols, pad, 0xEE);
  std::uniform_int_distribution<int> byte(0, 255);
  for (size_t i = 0; i < rows; ++i) {
    for (size_t j = 0; j < cols; ++j) {
      m.buf[i * m.stride + j] = static_cast<uint8_t>(byte(*rng));
    }
  }
  return m;
}

// The per-channel output stage, as the reference takes it.
RefRequantParams ToRef(const qgemm::RequantParams& rq) {
  RefRequantParams r;
  r.bias = rq.bias;
  r.multiplier = rq.multiplier;
  r.shift = rq.shift;
  r.per_channel = rq.per_channel;
  r.c_zero_point = rq.c_zero_point;
  r.c_min = rq.c_min;
  r.c_max = rq.c_max;
  return r;
}

qgemm::RequantParams RandomRequant(size_t n, bool per_channel,
                                   std::mt19937* rng) {
  std::uniform_int_distribution<int32_t> bias(-(1 << 16), 1 << 16);
  std::uniform_int_distribution<int32_t> m0((1 << 30), 0x7fffffff);
  std::uniform_int_distribution<int32_t> shift(-12, -4);
  qgemm::RequantParams rq =
      per_channel ? qgemm::RequantParams::make_per_channel({}, {}, 100, 3, 250)
                  : qgemm::RequantParams::make_per_tensor(m0(*rng), shift(*rng),
                                                          100, 3, 250);
  for (size_t j = 0; j < n; ++j) {
    rq.bias.push_back(bias(*rng));
    if (per_channel) {
      rq.multiplier.push_back(m0(*rng));
      rq.shift.push_back(shift(*rng));
    }
  }
  return rq;
}

struct Shape {
  size_t m, n, k;
};
const Shape kShapes[] = {{1, 1, 1},  {3, 5, 7},   {4, 4, 4},
                         {5, 9, 33}, {17, 3, 64}, {0, 4, 4},
                         {4, 0, 4},  {4, 4, 0},   {13, 31, 129}};

class CppApiTest : public testing::TestWithParam<int> {
 protected:
  // 0: an empty Context (the C API's NULL context), else that many threads.
  qgemm::Context MakeContext() {
    return GetParam() == 0 ? qgemm::Context()
                           : qgemm::Context::create(GetParam());
  }
};

TEST_P(CppApiTest, GemmRequantMatchesReference) {
  std::mt19937 rng(1);
  qgemm::Context ctx = MakeContext();
  for (const Shape& s : kShapes) {
    for (bool per_channel : {false, true}) {
      SCOPED_TRACE(testing::Message() << s.m << "x" << s.n << "x" << s.k
                                      << " per_channel " << per_channel);
      const Matrix<uint8_t> a = RandomU8(s.m, s.k, 3, &rng);
      const Matrix<uint8_t> b = RandomU8(s.k, s.n, 2, &rng);
      const qgemm::RequantParams rq = RandomRequant(s.n, per_channel, &rng);
      Matrix<uint8_t> c(s.m, s.n, 5, 0xCD), want(s.m, s.n, 5, 0xCD);
      qgemm::gemm_requant(ctx, a.cview(), 3, b.cview(), 250, rq, c.view());
      RefGemmRequant(s.m, s.n, s.k, a.buf.data(), a.stride, 3, b.buf.data(),
                     b.stride, false, 250, ToRef(rq), want.buf.data(),
                     want.stride);
      ASSERT_EQ(c.buf, want.buf);  // padding included: untouched
    }
  }
}

TEST_P(CppApiTest, GemmS32MatchesReference) {
  std::mt19937 rng(2);
  qgemm::Context ctx = MakeContext();
  for (const Shape& s : kShapes) {
    for (bool with_bias : {false, true}) {
      SCOPED_TRACE(testing::Message() << s.m << "x" << s.n << "x" << s.k);
      const Matrix<uint8_t> a = RandomU8(s.m, s.k, 1, &rng);
      const Matrix<uint8_t> b = RandomU8(s.k, s.n, 0, &rng);
      std::vector<int32_t> bias;
      if (with_bias) bias.assign(s.n, -12345);
      Matrix<int32_t> c(s.m, s.n, 2, 0x5A5A5A5A), want(s.m, s.n, 2, 0x5A5A5A5A);
      qgemm::gemm_s32(ctx, a.cview(), 128, b.cview(), 0, bias, c.view());
      RefGemmS32(s.m, s.n, s.k, a.buf.data(), a.stride, 128, b.buf.data(),
                 b.stride, false, 0, with_bias ? bias.data() : nullptr,
                 want.buf.data(), want.stride);
      ASSERT_EQ(c.buf, want.buf);
    }
  }
}

// Float output through the wrappers, unpacked and packed (NK), per tensor
// and per channel, with and without bias: bit for bit the reference's,
// padding untouched. The activations come from quantize_dynamic, as a
// dynamically quantized layer gets them.
TEST_P(CppApiTest, GemmF32OfDynamicallyQuantizedActivationsMatchesReference) {
  std::mt19937 rng(5);
  qgemm::Context ctx = MakeContext();
  std::normal_distribution<float> activation(0.5f, 3.0f);
  for (const Shape& s : kShapes) {
    for (bool per_channel : {false, true}) {
      SCOPED_TRACE(testing::Message() << s.m << "x" << s.n << "x" << s.k
                                      << (per_channel ? " per channel" : ""));
      const size_t ld = s.k + 3;
      std::vector<float> x(s.m * ld, 1e30f);  // padding far out of range
      for (size_t i = 0; i < s.m; ++i) {
        for (size_t kk = 0; kk < s.k; ++kk) x[i * ld + kk] = activation(rng);
      }
      const qgemm::QuantizedMatrix a =
          qgemm::quantize_dynamic(x.data(), s.m, s.k, ld);
      const Matrix<uint8_t> b = RandomU8(s.n, s.k, 2, &rng);  // [out][in]
      const qgemm::PackedB packed =
          qgemm::PackedB::pack(ctx, b.cview(), qgemm::Layout::kNK, 131);
      std::vector<float> b_scales(per_channel ? s.n : 1);
      for (auto& v : b_scales) {
        v = std::uniform_real_distribution<float>(1e-3f, 1e-1f)(rng);
      }
      std::vector<float> bias(s.n);
      for (auto& v : bias)
        v = std::uniform_real_distribution<float>(-2, 2)(rng);
      const qgemm::DequantParams dq =
          per_channel ? qgemm::DequantParams::make_per_channel(a.params.scale,
                                                               b_scales, bias)
                      : qgemm::DequantParams::make_per_tensor(a.params.scale,
                                                              b_scales[0]);
      RefDequantParams ref;
      ref.a_scale = dq.a_scale;
      ref.b_scale = dq.b_scale;
      ref.per_channel = dq.per_channel;
      ref.bias = dq.bias;
      Matrix<float> want(s.m, s.n, 2, -7.0f);
      RefGemmF32(s.m, s.n, s.k, a.data.data(), s.k, a.params.zero_point,
                 b.buf.data(), b.stride, true, 131, ref, want.buf.data(),
                 want.stride);
      Matrix<float> c(s.m, s.n, 2, -7.0f);
      qgemm::gemm_f32(ctx, a.view(), a.params.zero_point, packed, dq, c.view());
      ASSERT_EQ(std::memcmp(c.buf.data(), want.buf.data(),
                            c.buf.size() * sizeof(float)),
                0);
      // The same through the unpacked call, with B as k x n.
      Matrix<uint8_t> b_kn(s.k, s.n, 1, 0xEE);
      for (size_t kk = 0; kk < s.k; ++kk) {
        for (size_t j = 0; j < s.n; ++j) {
          b_kn.buf[kk * b_kn.stride + j] = b.buf[j * b.stride + kk];
        }
      }
      Matrix<float> c2(s.m, s.n, 2, -7.0f);
      qgemm::gemm_f32(ctx, a.view(), a.params.zero_point, b_kn.cview(), 131, dq,
                      c2.view());
      ASSERT_EQ(std::memcmp(c2.buf.data(), want.buf.data(),
                            c2.buf.size() * sizeof(float)),
                0);
    }
  }
}

TEST_P(CppApiTest, GemmF32ErrorsLeaveCUntouched) {
  qgemm::Context ctx = MakeContext();
  std::mt19937 rng(6);
  const Matrix<uint8_t> a = RandomU8(3, 8, 0, &rng);
  const Matrix<uint8_t> b = RandomU8(8, 5, 0, &rng);
  Matrix<float> c(3, 5, 1, -7.0f);
  const std::vector<float> before = c.buf;
  // Sizes the C library cannot see: per-channel scales and bias over n.
  const qgemm::DequantParams short_scales =
      qgemm::DequantParams::make_per_channel(0.5f, {1.0f, 1.0f});
  EXPECT_THROW(
      qgemm::gemm_f32(ctx, a.cview(), 0, b.cview(), 0, short_scales, c.view()),
      qgemm::Error);
  EXPECT_EQ(qgemm::try_gemm_f32(ctx, a.cview(), 0, b.cview(), 0, short_scales,
                                c.view()),
            QGEMM_INVALID_ARGUMENT);
  const qgemm::DequantParams long_bias =
      qgemm::DequantParams::make_per_tensor(0.5f, 1.0f, {1, 2, 3, 4, 5, 6});
  EXPECT_THROW(
      qgemm::gemm_f32(ctx, a.cview(), 0, b.cview(), 0, long_bias, c.view()),
      qgemm::Error);
  // Values are the C library's: a zero scale and a NaN bias.
  try {
    qgemm::gemm_f32(ctx, a.cview(), 0, b.cview(), 0,
                    qgemm::DequantParams::make_per_tensor(0.0f, 1.0f),
                    c.view());
    ADD_FAILURE() << "a zero a_scale was accepted";
  } catch (const qgemm::Error& e) {
    EXPECT_EQ(e.status(), QGEMM_INVALID_ARGUMENT);
    EXPECT_NE(std::string(e.what()).find("a_scale"), std::string::npos);
  }
  const qgemm::DequantParams nan_bias = qgemm::DequantParams::make_per_tensor(
      0.5f, 1.0f, {0, 0, std::nanf(""), 0, 0});
  const qgemm::PackedB packed =
      qgemm::PackedB::pack(ctx, b.cview(), qgemm::Layout::kKN, 0);
  EXPECT_THROW(qgemm::gemm_f32(ctx, a.cview(), 0, packed, nan_bias, c.view()),
               qgemm::Error);
  EXPECT_THROW(
      qgemm::gemm_f32(ctx, a.cview(), 0, qgemm::PackedB(),
                      qgemm::DequantParams::make_per_tensor(1, 1), c.view()),
      qgemm::Error);
  EXPECT_EQ(std::memcmp(c.buf.data(), before.data(), before.size() * 4), 0);
}

TEST_P(CppApiTest, PackedBMatchesReferenceInBothLayouts) {
  std::mt19937 rng(3);
  qgemm::Context ctx = MakeContext();
  for (const Shape& s : kShapes) {
    for (qgemm::Layout layout : {qgemm::Layout::kKN, qgemm::Layout::kNK}) {
      const bool nk = layout == qgemm::Layout::kNK;
      SCOPED_TRACE(testing::Message()
                   << s.m << "x" << s.n << "x" << s.k << (nk ? " NK" : " KN"));
      const Matrix<uint8_t> a = RandomU8(s.m, s.k, 0, &rng);
      const Matrix<uint8_t> b =
          nk ? RandomU8(s.n, s.k, 4, &rng) : RandomU8(s.k, s.n, 4, &rng);
      const qgemm::PackedB packed =
          qgemm::PackedB::pack(ctx, b.cview(), layout, 17);
      ASSERT_TRUE(packed);
      EXPECT_EQ(packed.k(), s.k);
      EXPECT_EQ(packed.n(), s.n);
      EXPECT_EQ(packed.isa(), ctx.isa());
      const qgemm::RequantParams rq = RandomRequant(s.n, true, &rng);
      Matrix<uint8_t> c(s.m, s.n, 1, 0xCD), want(s.m, s.n, 1, 0xCD);
      qgemm::gemm_requant(ctx, a.cview(), 200, packed, rq, c.view());
      RefGemmRequant(s.m, s.n, s.k, a.buf.data(), a.stride, 200, b.buf.data(),
                     b.stride, nk, 17, ToRef(rq), want.buf.data(), want.stride);
      ASSERT_EQ(c.buf, want.buf);
      Matrix<int32_t> c32(s.m, s.n, 1, 7), want32(s.m, s.n, 1, 7);
      qgemm::gemm_s32(ctx, a.cview(), 200, packed, rq.bias, c32.view());
      RefGemmS32(s.m, s.n, s.k, a.buf.data(), a.stride, 200, b.buf.data(),
                 b.stride, nk, 17, rq.bias.data(), want32.buf.data(),
                 want32.stride);
      ASSERT_EQ(c32.buf, want32.buf);
    }
  }
}

std::string ThreadsName(const testing::TestParamInfo<int>& param_info) {
  return param_info.param == 0 ? std::string("EmptyContext")
                               : std::to_string(param_info.param) + "Threads";
}

INSTANTIATE_TEST_SUITE_P(Threads, CppApiTest, testing::Values(0, 1, 2, 4),
                         ThreadsName);

TEST(CppApi, ContextFacts) {
  qgemm::Context empty;
  EXPECT_FALSE(empty);
  EXPECT_EQ(empty.num_threads(), 1);
  EXPECT_EQ(empty.isa(), std::string(qgemm_context_isa(nullptr)));
  qgemm::Context ctx = qgemm::Context::create(3);
  EXPECT_TRUE(ctx);
  EXPECT_EQ(ctx.num_threads(), 3);
  const std::vector<std::string> isas = qgemm::supported_isas();
  ASSERT_FALSE(isas.empty());
  EXPECT_EQ(ctx.isa(), std::string(qgemm_context_isa(nullptr)));
  for (const std::string& isa : isas) {
    ctx.set_isa(isa);
    EXPECT_EQ(ctx.isa(), isa);
  }
  ctx.set_isa("auto");
  EXPECT_EQ(ctx.isa(), isas.front());
  EXPECT_GE(qgemm::Context::create(0).num_threads(), 1);
}

TEST(CppApi, MovesTransferOwnership) {
  qgemm::Context a = qgemm::Context::create(2);
  qgemm_context* raw = a.get();
  qgemm::Context b = std::move(a);
  EXPECT_EQ(b.get(), raw);
  EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): moved-from is empty
  qgemm::Context c = qgemm::Context::create(1);
  c = std::move(b);  // frees c's old context
  EXPECT_EQ(c.get(), raw);
  c = qgemm::Context();  // frees it
  EXPECT_FALSE(c);

  const uint8_t w[6] = {1, 2, 3, 4, 5, 6};
  qgemm::PackedB p = qgemm::PackedB::pack(c, {w, 2, 3}, qgemm::Layout::kKN, 0);
  qgemm::PackedB q = std::move(p);
  EXPECT_FALSE(p);  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(q.k(), 2u);
  EXPECT_EQ(q.n(), 3u);
  q = qgemm::PackedB::pack(c, {w, 3, 2}, qgemm::Layout::kNK, 0);
  EXPECT_EQ(q.k(), 2u);
  EXPECT_EQ(q.n(), 3u);
  qgemm_packed_b* released = q.release();
  EXPECT_FALSE(q);
  qgemm::PackedB adopted(released);
  EXPECT_EQ(adopted.n(), 3u);
}

// Runs f, expects qgemm::Error with status want, returns its message.
template <typename F>
std::string ExpectError(qgemm_status want, F f) {
  try {
    f();
  } catch (const qgemm::Error& e) {
    EXPECT_EQ(e.status(), want) << e.what();
    EXPECT_EQ(std::string(e.what()),
              std::string(qgemm_status_string(want)) + ": " + e.message());
    return e.message();
  }
  ADD_FAILURE() << "no qgemm::Error thrown";
  return "";
}

TEST(CppApi, ContextErrorsAreExceptions) {
  ExpectError(QGEMM_INVALID_ARGUMENT, [] { qgemm::Context::create(-1); });
  qgemm::Context ctx = qgemm::Context::create(1);
  const std::string before = ctx.isa();
  EXPECT_NE(
      ExpectError(QGEMM_INVALID_ARGUMENT, [&] { ctx.set_isa("no-such-isa"); }),
      "");
  EXPECT_EQ(ctx.try_set_isa("no-such-isa"), QGEMM_INVALID_ARGUMENT);
  // Known ISAs that this CPU or build lacks are QGEMM_UNSUPPORTED.
  const std::vector<std::string> have = qgemm::supported_isas();
  size_t num_isas = 0;
  const qgemm::IsaEntry* isas = qgemm::IsaList(&num_isas);
  for (size_t i = 0; i < num_isas; ++i) {
    const char* isa = isas[i].name;
    bool supported = false;
    for (const std::string& h : have) supported |= h == isa;
    if (supported) continue;
    ExpectError(QGEMM_UNSUPPORTED, [&] { ctx.set_isa(isa); });
    EXPECT_EQ(ctx.try_set_isa(isa), QGEMM_UNSUPPORTED);
  }
  EXPECT_EQ(ctx.isa(), before);  // a failed set_isa changes nothing
  qgemm::Context empty;
  ExpectError(QGEMM_INVALID_ARGUMENT, [&] { empty.set_isa("auto"); });
  EXPECT_EQ(qgemm::Context::try_create(1, nullptr), QGEMM_INVALID_ARGUMENT);
  qgemm::Context made;
  EXPECT_EQ(qgemm::Context::try_create(2, &made), QGEMM_OK);
  EXPECT_EQ(made.num_threads(), 2);
}

// Every bad call: an Error with the status from the throwing form, the same
// status from the try_ form, and C untouched by both.
TEST(CppApi, GemmErrorsLeaveCUntouched) {
  std::mt19937 rng(4);
  qgemm::Context ctx = qgemm::Context::create(2);
  const Matrix<uint8_t> a = RandomU8(4, 6, 0, &rng);
  const Matrix<uint8_t> b = RandomU8(6, 5, 0, &rng);
  const Matrix<uint8_t> b_wrong_k = RandomU8(7, 5, 0, &rng);
  const qgemm::RequantParams good = RandomRequant(5, true, &rng);
  Matrix<uint8_t> c(4, 5, 0, 0xCD);
  Matrix<int32_t> c32(4, 5, 0, 77);
  const std::vector<uint8_t> c_before = c.buf;
  const std::vector<int32_t> c32_before = c32.buf;

  struct BadRequant {
    const char* what;
    qgemm::RequantParams rq;
  };
  std::vector<BadRequant> bad;
  bad.push_back({"shift 31", good});
  bad.back().rq.shift[2] = 31;
  bad.push_back({"negative multiplier", good});
  bad.back().rq.multiplier[0] = -1;
  bad.push_back({"zero point 256", good});
  bad.back().rq.c_zero_point = 256;
  bad.push_back({"c_min > c_max", good});
  bad.back().rq.c_min = 200;
  bad.back().rq.c_max = 100;
  bad.push_back({"bias of 4 for n = 5", good});
  bad.back().rq.bias.pop_back();
  bad.push_back({"per-channel vectors of 4", good});
  bad.back().rq.multiplier.pop_back();
  bad.back().rq.shift.pop_back();
  bad.push_back({"per-tensor with 5 entries", good});
  bad.back().rq.per_channel = false;

  for (const BadRequant& br : bad) {
    SCOPED_TRACE(br.what);
    const std::string message = ExpectError(QGEMM_INVALID_ARGUMENT, [&] {
      qgemm::gemm_requant(ctx, a.cview(), 0, b.cview(), 0, br.rq, c.view());
    });
    EXPECT_NE(message, "");
    EXPECT_EQ(qgemm::try_gemm_requant(ctx, a.cview(), 0, b.cview(), 0, br.rq,
                                      c.view()),
              QGEMM_INVALID_ARGUMENT);
    EXPECT_EQ(c.buf, c_before);
  }
  // The library's own message reaches the exception.
  EXPECT_NE(ExpectError(QGEMM_INVALID_ARGUMENT,
                        [&] {
                          qgemm::gemm_requant(ctx, a.cview(), 0, b.cview(), 0,
                                              bad[0].rq, c.view());
                        })
                .find("shift"),
            std::string::npos);

  // Shapes that do not fit together.
  ExpectError(QGEMM_INVALID_ARGUMENT, [&] {
    qgemm::gemm_requant(ctx, a.cview(), 0, b_wrong_k.cview(), 0, good,
                        c.view());
  });
  Matrix<uint8_t> c_wrong(3, 5, 0, 0xCD);
  ExpectError(QGEMM_INVALID_ARGUMENT, [&] {
    qgemm::gemm_requant(ctx, a.cview(), 0, b.cview(), 0, good, c_wrong.view());
  });
  EXPECT_EQ(qgemm::try_gemm_s32(ctx, a.cview(), 0, b_wrong_k.cview(), 0, {},
                                c32.view()),
            QGEMM_INVALID_ARGUMENT);
  ExpectError(QGEMM_INVALID_ARGUMENT, [&] {
    qgemm::gemm_s32(ctx, a.cview(), 0, b.cview(), 0, {1, 2}, c32.view());
  });
  // A stride smaller than the row: the C library says so.
  qgemm::MatrixView<uint8_t> short_stride = c.view();
  short_stride.stride = 4;
  EXPECT_NE(ExpectError(QGEMM_INVALID_ARGUMENT,
                        [&] {
                          qgemm::gemm_requant(ctx, a.cview(), 0, b.cview(), 0,
                                              good, short_stride);
                        })
                .find("stride"),
            std::string::npos);
  // A null data pointer with a non-empty shape.
  ExpectError(QGEMM_INVALID_ARGUMENT, [&] {
    qgemm::gemm_s32(ctx, {static_cast<const uint8_t*>(nullptr), 4, 6}, 0,
                    b.cview(), 0, {}, c32.view());
  });
  // Packed: empty PackedB, wrong k, wrong n.
  const qgemm::PackedB empty;
  ExpectError(QGEMM_INVALID_ARGUMENT, [&] {
    qgemm::gemm_requant(ctx, a.cview(), 0, empty, good, c.view());
  });
  EXPECT_EQ(qgemm::try_gemm_s32(ctx, a.cview(), 0, empty, {}, c32.view()),
            QGEMM_INVALID_ARGUMENT);
  const qgemm::PackedB wrong_k =
      qgemm::PackedB::pack(ctx, b_wrong_k.cview(), qgemm::Layout::kKN, 0);
  ExpectError(QGEMM_INVALID_ARGUMENT, [&] {
    qgemm::gemm_requant(ctx, a.cview(), 0, wrong_k, good, c.view());
  });
  const qgemm::PackedB packed =
      qgemm::PackedB::pack(ctx, b.cview(), qgemm::Layout::kKN, 0);
  Matrix<int32_t> c32_wrong_n(4, 4, 0, 77);
  ExpectError(QGEMM_INVALID_ARGUMENT, [&] {
    qgemm::gemm_s32(ctx, a.cview(), 0, packed, {}, c32_wrong_n.view());
  });
  EXPECT_EQ(c.buf, c_before);
  EXPECT_EQ(c32.buf, c32_before);
  // Packing with a bad layout value or a short stride.
  ExpectError(QGEMM_INVALID_ARGUMENT, [&] {
    qgemm::PackedB::pack(ctx, b.cview(), static_cast<qgemm::Layout>(7), 0);
  });
  qgemm::PackedB out;
  EXPECT_EQ(qgemm::PackedB::try_pack(ctx, {b.buf.data(), 6, 5, 4},
                                     qgemm::Layout::kKN, 0, &out),
            QGEMM_INVALID_ARGUMENT);
  EXPECT_FALSE(out);
  EXPECT_EQ(
      qgemm::PackedB::try_pack(ctx, b.cview(), qgemm::Layout::kKN, 0, nullptr),
      QGEMM_INVALID_ARGUMENT);
}

TEST(CppApi, RequantFromRealMultipliers) {
  const qgemm::RequantParams rq =
      qgemm::RequantParams::from_real_multiplier(0.75, 10);
  ASSERT_EQ(rq.multiplier.size(), 1u);
  EXPECT_EQ(rq.multiplier[0], 3 << 29);
  EXPECT_EQ(rq.shift[0], 0);
  EXPECT_FALSE(rq.per_channel);
  EXPECT_EQ(rq.c_zero_point, 10);
  const qgemm::RequantParams pc =
      qgemm::RequantParams::from_real_multipliers({0.5, 1.0}, 0, 1, 254);
  EXPECT_TRUE(pc.per_channel);
  EXPECT_EQ(pc.multiplier, (std::vector<int32_t>{1 << 30, 1 << 30}));
  EXPECT_EQ(pc.shift, (std::vector<int32_t>{0, 1}));
  EXPECT_EQ(pc.c_min, 1);
  EXPECT_EQ(pc.c_max, 254);
  ExpectError(QGEMM_INVALID_ARGUMENT,
              [] { qgemm::RequantParams::from_real_multiplier(-1.0, 0); });
  ExpectError(QGEMM_INVALID_ARGUMENT, [] {
    qgemm::RequantParams::from_real_multipliers({0.5, 1e12}, 0);
  });
  // view() points into the vectors.
  const qgemm_requant v = pc.view();
  EXPECT_EQ(v.multiplier, pc.multiplier.data());
  EXPECT_EQ(v.bias, nullptr);
  EXPECT_EQ(v.per_channel, 1);
}

}  // namespace
}  // namespace qgemm_test

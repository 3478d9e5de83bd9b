// qgemm C++ API: RAII wrappers over the C ABI of <qgemm/qgemm.h>.
//
// Header-only; it adds no numerics of its own (results are the C API's,
// byte for byte). What it adds:
//
//   qgemm::Context     owns a qgemm_context (threads or the caller's
//                      executor, scratch, ISA choice).
//                      A default-constructed (or moved-from) Context is
//                      empty and stands for the C API's NULL context: the
//                      calling thread only, the default ISA.
//   qgemm::PackedB     owns a qgemm_packed_b (weights packed once, reused).
//   qgemm::MatrixView  a non-owning row-major view {data, rows, cols, stride}.
//   qgemm::RequantParams  the output stage with owning vectors; view() gives
//                      the qgemm_requant the C API takes.
//   qgemm::DequantParams  the float output's scales and bias with owning
//                      vectors; view() gives the qgemm_dequant.
//   gemm_requant / gemm_s32 / gemm_f32  the GEMMs on views, unpacked or
//                      with a PackedB.
//
// Errors. Every operation comes in two forms:
//   - the plain form (gemm_requant, Context::create, ...) throws
//     qgemm::Error, which carries the qgemm_status and the message;
//   - the try_ form (try_gemm_requant, Context::try_create, ...) is noexcept
//     and returns the qgemm_status; for errors the C library finds,
//     qgemm_last_error() says what was wrong.
// Exceptions are raised here, at the API boundary, after the C call has
// returned; nothing in the library's compute path (kernels, driver, thread
// pool) throws or unwinds. Both forms check view shapes against each other
// (A.cols == B.rows, ...) and RequantParams vector sizes against n before
// calling the C API (which cannot see a vector's length); those mismatches
// are QGEMM_INVALID_ARGUMENT with C untouched, and since they never reach
// the C library, qgemm_last_error() is not updated for them (the exception's
// message says what was wrong).
//
// Thread safety follows the C API: a PackedB may be shared by any number of
// threads; a Context serves one caller thread at a time.
#ifndef QGEMM_QGEMM_HPP_
#define QGEMM_QGEMM_HPP_

#include <qgemm/qgemm.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace qgemm {

// ---- Errors ---------------------------------------------------------------

// A failed qgemm call. what() is "QGEMM_<STATUS>: <message>".
class Error : public std::runtime_error {
 public:
  Error(qgemm_status status, const std::string& message)
      : std::runtime_error(std::string(qgemm_status_string(status)) + ": " +
                           message),
        status_(status),
        prefix_length_(std::string(qgemm_status_string(status)).size() + 2) {}

  qgemm_status status() const noexcept { return status_; }
  // The message without the status prefix.
  const char* message() const noexcept { return what() + prefix_length_; }

 private:
  qgemm_status status_;
  size_t prefix_length_;
};

// Throws Error(status, qgemm_last_error()) unless status is QGEMM_OK. For
// turning the status of a C call (or a try_ call that reached the C library)
// into an exception.
inline void throw_if_error(qgemm_status status) {
  if (status != QGEMM_OK) throw Error(status, qgemm_last_error());
}

// The ISAs this CPU and build can run, best first (qgemm_supported_isas).
inline std::vector<std::string> supported_isas() {
  const size_t count = qgemm_supported_isas(nullptr, 0);
  std::vector<const char*> names(count);
  const size_t got = qgemm_supported_isas(names.data(), names.size());
  std::vector<std::string> out;
  for (size_t i = 0; i < got && i < count; ++i) out.emplace_back(names[i]);
  return out;
}

// ---- Views ----------------------------------------------------------------

// A row-major matrix that someone else owns: element (i, j) is
// data[i * stride + j]; stride (in elements) >= cols. A view of 0 rows or 0
// columns may have a null data pointer.
template <typename T>
struct MatrixView {
  T* data = nullptr;
  size_t rows = 0;
  size_t cols = 0;
  size_t stride = 0;

  constexpr MatrixView() noexcept = default;
  constexpr MatrixView(T* data_, size_t rows_, size_t cols_,
                       size_t stride_) noexcept
      : data(data_), rows(rows_), cols(cols_), stride(stride_) {}
  // A dense matrix: stride == cols.
  constexpr MatrixView(T* data_, size_t rows_, size_t cols_) noexcept
      : MatrixView(data_, rows_, cols_, cols_) {}
  // MatrixView<uint8_t> converts to MatrixView<const uint8_t>.
  template <typename U, typename = std::enable_if_t<
                            std::is_convertible<U (*)[], T (*)[]>::value>>
  constexpr MatrixView(const MatrixView<U>& other) noexcept  // NOLINT
      : MatrixView(other.data, other.rows, other.cols, other.stride) {}

  constexpr T& operator()(size_t i, size_t j) const noexcept {
    return data[i * stride + j];
  }
};

enum class Layout {
  kKN = QGEMM_LAYOUT_KN,  // B is k x n (rows = k), the GEMM's own layout
  kNK = QGEMM_LAYOUT_NK,  // B is n x k (rows = n): a linear layer's [out][in]
};

// ---- Context --------------------------------------------------------------

class Context {
 public:
  // Empty: the C API's NULL context (calling thread, default ISA).
  Context() noexcept = default;
  // Takes ownership of a context made by qgemm_context_create or
  // qgemm_context_create_with_executor (or NULL).
  explicit Context(qgemm_context* adopt) noexcept : ctx_(adopt) {}

  // num_threads: 0 = all cores, 1 = the caller's thread only (no pool).
  static Context create(int num_threads = 0) {
    Context out;
    throw_if_error(try_create(num_threads, &out));
    return out;
  }
  static qgemm_status try_create(int num_threads, Context* out) noexcept {
    if (out == nullptr) return QGEMM_INVALID_ARGUMENT;
    qgemm_context* ctx = nullptr;
    const qgemm_status status = qgemm_context_create(num_threads, &ctx);
    if (status == QGEMM_OK) *out = Context(ctx);
    return status;
  }

  // Loops run through the caller's thread pool: see
  // qgemm_context_create_with_executor (parallel_for not null, num_threads
  // >= 1; the context starts no thread).
  static Context create_with_executor(qgemm_parallel_for_fn parallel_for,
                                      void* executor_context, int num_threads) {
    Context out;
    throw_if_error(try_create_with_executor(parallel_for, executor_context,
                                            num_threads, &out));
    return out;
  }
  static qgemm_status try_create_with_executor(
      qgemm_parallel_for_fn parallel_for, void* executor_context,
      int num_threads, Context* out) noexcept {
    if (out == nullptr) return QGEMM_INVALID_ARGUMENT;
    qgemm_context* ctx = nullptr;
    const qgemm_status status = qgemm_context_create_with_executor(
        parallel_for, executor_context, num_threads, &ctx);
    if (status == QGEMM_OK) *out = Context(ctx);
    return status;
  }

  Context(Context&& other) noexcept : ctx_(other.release()) {}
  Context& operator=(Context&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  ~Context() { qgemm_context_destroy(ctx_); }

  // "auto" or an ISA name; see qgemm_context_set_isa. An empty Context has
  // no ISA of its own to set (QGEMM_INVALID_ARGUMENT): use QGEMM_ISA.
  void set_isa(const std::string& isa) { throw_if_error(try_set_isa(isa)); }
  qgemm_status try_set_isa(const std::string& isa) noexcept {
    return qgemm_context_set_isa(ctx_, isa.c_str());
  }
  // The ISA calls on this context use (for an empty one, the default); ""
  // if there is none (QGEMM_ISA names one this CPU cannot run).
  std::string isa() const {
    const char* name = qgemm_context_isa(ctx_);
    return name == nullptr ? std::string() : std::string(name);
  }
  int num_threads() const noexcept { return qgemm_context_num_threads(ctx_); }

  qgemm_context* get() const noexcept { return ctx_; }
  explicit operator bool() const noexcept { return ctx_ != nullptr; }
  qgemm_context* release() noexcept { return std::exchange(ctx_, nullptr); }
  void reset(qgemm_context* adopt = nullptr) noexcept {
    qgemm_context_destroy(std::exchange(ctx_, adopt));
  }

 private:
  qgemm_context* ctx_ = nullptr;
};

// ---- Packed weights -------------------------------------------------------

class PackedB {
 public:
  PackedB() noexcept = default;
  explicit PackedB(qgemm_packed_b* adopt) noexcept : p_(adopt) {}

  // Packs b (k x n for Layout::kKN, n x k for Layout::kNK) with its zero
  // point, for the ISA of ctx (an empty ctx: the default ISA).
  static PackedB pack(Context& ctx, MatrixView<const uint8_t> b, Layout layout,
                      uint8_t zero_point) {
    PackedB out;
    throw_if_error(try_pack(ctx, b, layout, zero_point, &out));
    return out;
  }
  static qgemm_status try_pack(Context& ctx, MatrixView<const uint8_t> b,
                               Layout layout, uint8_t zero_point,
                               PackedB* out) noexcept {
    if (out == nullptr) return QGEMM_INVALID_ARGUMENT;
    const bool nk = layout == Layout::kNK;
    const size_t k = nk ? b.cols : b.rows;
    const size_t n = nk ? b.rows : b.cols;
    qgemm_packed_b* p = nullptr;
    const qgemm_status status =
        qgemm_pack_b(ctx.get(), k, n, b.data, b.stride,
                     static_cast<qgemm_layout>(layout), zero_point, &p);
    if (status == QGEMM_OK) *out = PackedB(p);
    return status;
  }

  PackedB(PackedB&& other) noexcept : p_(other.release()) {}
  PackedB& operator=(PackedB&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  PackedB(const PackedB&) = delete;
  PackedB& operator=(const PackedB&) = delete;
  ~PackedB() { qgemm_packed_b_destroy(p_); }

  size_t k() const noexcept { return qgemm_packed_b_k(p_); }
  size_t n() const noexcept { return qgemm_packed_b_n(p_); }
  // The ISA it was packed for ("" when empty).
  std::string isa() const {
    const char* name = qgemm_packed_b_isa(p_);
    return name == nullptr ? std::string() : std::string(name);
  }

  const qgemm_packed_b* get() const noexcept { return p_; }
  explicit operator bool() const noexcept { return p_ != nullptr; }
  qgemm_packed_b* release() noexcept { return std::exchange(p_, nullptr); }
  void reset(qgemm_packed_b* adopt = nullptr) noexcept {
    qgemm_packed_b_destroy(std::exchange(p_, adopt));
  }

 private:
  qgemm_packed_b* p_ = nullptr;
};

// ---- Output stage ---------------------------------------------------------

// C = clamp(c_zero_point + requant(acc + bias, M0, shift), c_min, c_max),
// per tensor (multiplier and shift have 1 entry) or per output channel (n
// entries each). See docs/design.md, "Output stage", for the exact rounding.
struct RequantParams {
  std::vector<int32_t> bias;        // empty (no bias) or n entries
  std::vector<int32_t> multiplier;  // M0 in [0, 2^31 - 1]
  std::vector<int32_t> shift;       // in [-31, 30]
  bool per_channel = false;
  int32_t c_zero_point = 0;  // in [0, 255]
  uint8_t c_min = 0;
  uint8_t c_max = 255;

  static RequantParams make_per_tensor(int32_t multiplier, int32_t shift,
                                       int32_t c_zero_point, uint8_t c_min = 0,
                                       uint8_t c_max = 255) {
    RequantParams rq;
    rq.multiplier = {multiplier};
    rq.shift = {shift};
    rq.c_zero_point = c_zero_point;
    rq.c_min = c_min;
    rq.c_max = c_max;
    return rq;
  }
  static RequantParams make_per_channel(std::vector<int32_t> multipliers,
                                        std::vector<int32_t> shifts,
                                        int32_t c_zero_point, uint8_t c_min = 0,
                                        uint8_t c_max = 255) {
    RequantParams rq;
    rq.multiplier = std::move(multipliers);
    rq.shift = std::move(shifts);
    rq.per_channel = true;
    rq.c_zero_point = c_zero_point;
    rq.c_min = c_min;
    rq.c_max = c_max;
    return rq;
  }
  // From the real multiplier M = Sa * Sb / Sc (qgemm_quantize_multiplier);
  // throws Error for an M the output stage cannot represent.
  static RequantParams from_real_multiplier(double real_multiplier,
                                            int32_t c_zero_point,
                                            uint8_t c_min = 0,
                                            uint8_t c_max = 255) {
    int32_t m0 = 0, shift = 0;
    throw_if_error(qgemm_quantize_multiplier(real_multiplier, &m0, &shift));
    return make_per_tensor(m0, shift, c_zero_point, c_min, c_max);
  }
  static RequantParams from_real_multipliers(
      const std::vector<double>& real_multipliers, int32_t c_zero_point,
      uint8_t c_min = 0, uint8_t c_max = 255) {
    std::vector<int32_t> m0(real_multipliers.size());
    std::vector<int32_t> shifts(real_multipliers.size());
    for (size_t j = 0; j < real_multipliers.size(); ++j) {
      throw_if_error(
          qgemm_quantize_multiplier(real_multipliers[j], &m0[j], &shifts[j]));
    }
    return make_per_channel(std::move(m0), std::move(shifts), c_zero_point,
                            c_min, c_max);
  }

  // The C struct, pointing into this object's vectors: valid while this
  // object lives and its vectors are not resized.
  qgemm_requant view() const noexcept {
    qgemm_requant rq{};
    rq.bias = bias.empty() ? nullptr : bias.data();
    rq.multiplier = multiplier.data();
    rq.shift = shift.data();
    rq.per_channel = per_channel ? 1 : 0;
    rq.c_zero_point = c_zero_point;
    rq.c_min = c_min;
    rq.c_max = c_max;
    return rq;
  }

  // nullptr if the vector sizes fit n output columns, else what is wrong.
  // (Value ranges are the C library's to check.)
  const char* size_error(size_t n) const noexcept {
    if (!bias.empty() && bias.size() != n) {
      return "RequantParams: bias must be empty or have n entries";
    }
    const size_t want = per_channel ? n : 1;
    if (multiplier.size() != want || shift.size() != want) {
      return per_channel ? "RequantParams: per_channel multiplier and shift "
                           "must have n entries each"
                         : "RequantParams: per-tensor multiplier and shift "
                           "must have 1 entry each";
    }
    return nullptr;
  }
};

// Float output (qgemm.h, "Float output"): C = fmaf((float) acc,
// a_scale * b_scale[j], bias[j]), b_scale per tensor (1 entry) or per
// output channel (n entries).
struct DequantParams {
  float a_scale = 1.0f;
  std::vector<float> b_scale;  // 1 entry, or n if per_channel
  bool per_channel = false;
  std::vector<float> bias;  // empty (no bias) or n entries

  static DequantParams make_per_tensor(float a_scale, float b_scale,
                                       std::vector<float> bias = {}) {
    DequantParams dq;
    dq.a_scale = a_scale;
    dq.b_scale = {b_scale};
    dq.bias = std::move(bias);
    return dq;
  }
  static DequantParams make_per_channel(float a_scale,
                                        std::vector<float> b_scales,
                                        std::vector<float> bias = {}) {
    DequantParams dq;
    dq.a_scale = a_scale;
    dq.b_scale = std::move(b_scales);
    dq.per_channel = true;
    dq.bias = std::move(bias);
    return dq;
  }

  // The C struct, pointing into this object's vectors: valid while this
  // object lives and its vectors are not resized.
  qgemm_dequant view() const noexcept {
    qgemm_dequant dq{};
    dq.a_scale = a_scale;
    dq.b_scale = b_scale.data();
    dq.per_channel = per_channel ? 1 : 0;
    dq.bias = bias.empty() ? nullptr : bias.data();
    return dq;
  }

  // nullptr if the vector sizes fit n output columns, else what is wrong.
  // (Values, such as a zero or NaN scale, are the C library's to check.)
  const char* size_error(size_t n) const noexcept {
    if (!bias.empty() && bias.size() != n) {
      return "DequantParams: bias must be empty or have n entries";
    }
    if (b_scale.size() != (per_channel ? n : 1)) {
      return per_channel ? "DequantParams: per_channel b_scale must have n "
                           "entries"
                         : "DequantParams: per-tensor b_scale must have 1 "
                           "entry";
    }
    return nullptr;
  }
};

// ---- GEMM -----------------------------------------------------------------

namespace detail {

// nullptr if A (m x k), B (k x n) and C (m x n) agree, else what is wrong.
inline const char* shape_error(size_t a_rows, size_t a_cols, size_t b_rows,
                               size_t b_cols, size_t c_rows,
                               size_t c_cols) noexcept {
  if (a_cols != b_rows) return "A.cols (k) must equal B's k";
  if (c_rows != a_rows) return "C.rows must equal A.rows (m)";
  if (c_cols != b_cols) return "C.cols must equal B's n";
  return nullptr;
}

inline const char* bias_error(const std::vector<int32_t>& bias,
                              size_t n) noexcept {
  return bias.empty() || bias.size() == n
             ? nullptr
             : "bias must be empty or have n entries";
}

inline void throw_if(const char* error) {
  if (error != nullptr) throw Error(QGEMM_INVALID_ARGUMENT, error);
}

}  // namespace detail

// C = requant((A - za)(B - zb) + bias). A: m x k, B: k x n, C: m x n.
inline qgemm_status try_gemm_requant(Context& ctx, MatrixView<const uint8_t> a,
                                     uint8_t a_zero_point,
                                     MatrixView<const uint8_t> b,
                                     uint8_t b_zero_point,
                                     const RequantParams& rq,
                                     MatrixView<uint8_t> c) noexcept {
  if (detail::shape_error(a.rows, a.cols, b.rows, b.cols, c.rows, c.cols) ||
      rq.size_error(b.cols)) {
    return QGEMM_INVALID_ARGUMENT;
  }
  const qgemm_requant view = rq.view();
  return qgemm_u8u8_requant(ctx.get(), a.rows, b.cols, a.cols, a.data, a.stride,
                            a_zero_point, b.data, b.stride, b_zero_point, &view,
                            c.data, c.stride);
}

inline void gemm_requant(Context& ctx, MatrixView<const uint8_t> a,
                         uint8_t a_zero_point, MatrixView<const uint8_t> b,
                         uint8_t b_zero_point, const RequantParams& rq,
                         MatrixView<uint8_t> c) {
  detail::throw_if(
      detail::shape_error(a.rows, a.cols, b.rows, b.cols, c.rows, c.cols));
  detail::throw_if(rq.size_error(b.cols));
  throw_if_error(
      try_gemm_requant(ctx, a, a_zero_point, b, b_zero_point, rq, c));
}

// C = (A - za)(B - zb) + bias in int32 (bias empty: none).
inline qgemm_status try_gemm_s32(Context& ctx, MatrixView<const uint8_t> a,
                                 uint8_t a_zero_point,
                                 MatrixView<const uint8_t> b,
                                 uint8_t b_zero_point,
                                 const std::vector<int32_t>& bias,
                                 MatrixView<int32_t> c) noexcept {
  if (detail::shape_error(a.rows, a.cols, b.rows, b.cols, c.rows, c.cols) ||
      detail::bias_error(bias, b.cols)) {
    return QGEMM_INVALID_ARGUMENT;
  }
  return qgemm_u8u8_s32(ctx.get(), a.rows, b.cols, a.cols, a.data, a.stride,
                        a_zero_point, b.data, b.stride, b_zero_point,
                        bias.empty() ? nullptr : bias.data(), c.data, c.stride);
}

inline void gemm_s32(Context& ctx, MatrixView<const uint8_t> a,
                     uint8_t a_zero_point, MatrixView<const uint8_t> b,
                     uint8_t b_zero_point, const std::vector<int32_t>& bias,
                     MatrixView<int32_t> c) {
  detail::throw_if(
      detail::shape_error(a.rows, a.cols, b.rows, b.cols, c.rows, c.cols));
  detail::throw_if(detail::bias_error(bias, b.cols));
  throw_if_error(try_gemm_s32(ctx, a, a_zero_point, b, b_zero_point, bias, c));
}

// With packed weights (their zero point was given at pack time).
inline qgemm_status try_gemm_requant(Context& ctx, MatrixView<const uint8_t> a,
                                     uint8_t a_zero_point, const PackedB& b,
                                     const RequantParams& rq,
                                     MatrixView<uint8_t> c) noexcept {
  if (!b) return QGEMM_INVALID_ARGUMENT;
  if (detail::shape_error(a.rows, a.cols, b.k(), b.n(), c.rows, c.cols) ||
      rq.size_error(b.n())) {
    return QGEMM_INVALID_ARGUMENT;
  }
  const qgemm_requant view = rq.view();
  return qgemm_u8u8_requant_packed(ctx.get(), a.rows, a.data, a.stride,
                                   a_zero_point, b.get(), &view, c.data,
                                   c.stride);
}

inline void gemm_requant(Context& ctx, MatrixView<const uint8_t> a,
                         uint8_t a_zero_point, const PackedB& b,
                         const RequantParams& rq, MatrixView<uint8_t> c) {
  if (!b) throw Error(QGEMM_INVALID_ARGUMENT, "PackedB is empty");
  detail::throw_if(
      detail::shape_error(a.rows, a.cols, b.k(), b.n(), c.rows, c.cols));
  detail::throw_if(rq.size_error(b.n()));
  throw_if_error(try_gemm_requant(ctx, a, a_zero_point, b, rq, c));
}

inline qgemm_status try_gemm_s32(Context& ctx, MatrixView<const uint8_t> a,
                                 uint8_t a_zero_point, const PackedB& b,
                                 const std::vector<int32_t>& bias,
                                 MatrixView<int32_t> c) noexcept {
  if (!b) return QGEMM_INVALID_ARGUMENT;
  if (detail::shape_error(a.rows, a.cols, b.k(), b.n(), c.rows, c.cols) ||
      detail::bias_error(bias, b.n())) {
    return QGEMM_INVALID_ARGUMENT;
  }
  return qgemm_u8u8_s32_packed(
      ctx.get(), a.rows, a.data, a.stride, a_zero_point, b.get(),
      bias.empty() ? nullptr : bias.data(), c.data, c.stride);
}

inline void gemm_s32(Context& ctx, MatrixView<const uint8_t> a,
                     uint8_t a_zero_point, const PackedB& b,
                     const std::vector<int32_t>& bias, MatrixView<int32_t> c) {
  if (!b) throw Error(QGEMM_INVALID_ARGUMENT, "PackedB is empty");
  detail::throw_if(
      detail::shape_error(a.rows, a.cols, b.k(), b.n(), c.rows, c.cols));
  detail::throw_if(detail::bias_error(bias, b.n()));
  throw_if_error(try_gemm_s32(ctx, a, a_zero_point, b, bias, c));
}

// C = fmaf((float) ((A - za)(B - zb)), a_scale * b_scale[j], bias[j]).
inline qgemm_status try_gemm_f32(Context& ctx, MatrixView<const uint8_t> a,
                                 uint8_t a_zero_point,
                                 MatrixView<const uint8_t> b,
                                 uint8_t b_zero_point, const DequantParams& dq,
                                 MatrixView<float> c) noexcept {
  if (detail::shape_error(a.rows, a.cols, b.rows, b.cols, c.rows, c.cols) ||
      dq.size_error(b.cols)) {
    return QGEMM_INVALID_ARGUMENT;
  }
  const qgemm_dequant view = dq.view();
  return qgemm_u8u8_f32(ctx.get(), a.rows, b.cols, a.cols, a.data, a.stride,
                        a_zero_point, b.data, b.stride, b_zero_point, &view,
                        c.data, c.stride);
}

inline void gemm_f32(Context& ctx, MatrixView<const uint8_t> a,
                     uint8_t a_zero_point, MatrixView<const uint8_t> b,
                     uint8_t b_zero_point, const DequantParams& dq,
                     MatrixView<float> c) {
  detail::throw_if(
      detail::shape_error(a.rows, a.cols, b.rows, b.cols, c.rows, c.cols));
  detail::throw_if(dq.size_error(b.cols));
  throw_if_error(try_gemm_f32(ctx, a, a_zero_point, b, b_zero_point, dq, c));
}

inline qgemm_status try_gemm_f32(Context& ctx, MatrixView<const uint8_t> a,
                                 uint8_t a_zero_point, const PackedB& b,
                                 const DequantParams& dq,
                                 MatrixView<float> c) noexcept {
  if (!b) return QGEMM_INVALID_ARGUMENT;
  if (detail::shape_error(a.rows, a.cols, b.k(), b.n(), c.rows, c.cols) ||
      dq.size_error(b.n())) {
    return QGEMM_INVALID_ARGUMENT;
  }
  const qgemm_dequant view = dq.view();
  return qgemm_u8u8_f32_packed(ctx.get(), a.rows, a.data, a.stride,
                               a_zero_point, b.get(), &view, c.data, c.stride);
}

inline void gemm_f32(Context& ctx, MatrixView<const uint8_t> a,
                     uint8_t a_zero_point, const PackedB& b,
                     const DequantParams& dq, MatrixView<float> c) {
  if (!b) throw Error(QGEMM_INVALID_ARGUMENT, "PackedB is empty");
  detail::throw_if(
      detail::shape_error(a.rows, a.cols, b.k(), b.n(), c.rows, c.cols));
  detail::throw_if(dq.size_error(b.n()));
  throw_if_error(try_gemm_f32(ctx, a, a_zero_point, b, dq, c));
}

}  // namespace qgemm

#endif  // QGEMM_QGEMM_HPP_

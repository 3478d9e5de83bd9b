// The C API: argument checks, contexts, packed B objects. Every entry point
// checks all of its arguments before it touches C, so bad input returns a
// status with C untouched.
#include <qgemm/qgemm.h>

#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <new>
#include <string>

#include "dispatch/context.h"
#include "dispatch/driver.h"
#include "dispatch/isa.h"
#include "dispatch/memory.h"
#include "src/api_internal.h"
#include "src/last_error.h"

struct qgemm_packed_b {
  const qgemm::KernelTable* table;
  uint32_t variant;
  size_t k, n, k_padded, panel_bytes, num_panels;
  uint8_t zero_point;
  uint8_t* panels;    // num_panels * panel_bytes
  int32_t* col_sums;  // num_panels * NR
};

namespace qgemm {
uint32_t PackedBVariant(const qgemm_packed_b* p) {
  return p == nullptr ? 0 : p->variant;
}
}  // namespace qgemm

namespace {

thread_local char g_last_error[512];

qgemm_status Fail(qgemm_status status, const char* fmt, ...)
    __attribute__((format(printf, 2, 3)));

qgemm_status Fail(qgemm_status status, const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  // clang-analyzer 14 loses track of va_start on some callers' paths.
  // NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized)
  std::vsnprintf(g_last_error, sizeof g_last_error, fmt, args);
  va_end(args);
  return status;
}

qgemm_status Ok() {
  g_last_error[0] = '\0';
  return QGEMM_OK;
}

// ISA resolution builds its messages in std::string: an exception must not
// cross the C API, so the entry points that resolve ISAs run inside this.
template <typename Fn>
qgemm_status CatchOutOfMemory(Fn fn) {
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    return Fail(QGEMM_OUT_OF_MEMORY, "out of memory resolving the ISA");
  }
}

constexpr size_t kSizeMax = std::numeric_limits<size_t>::max();

// The int a C caller passed as an enum (C enums are ints; C++ ones with
// these enumerators only hold 0..3).
template <typename Enum>
int EnumAsInt(const Enum& e) {
  static_assert(sizeof(Enum) == sizeof(int), "C enums are int-sized");
  int value;
  std::memcpy(&value, &e, sizeof value);
  return value;
}

// The last element of a rows x cols matrix with stride ld must be
// addressable: (rows - 1) * ld + cols elements must be a valid object size
// (at most PTRDIFF_MAX bytes, so that pointer differences inside it are
// defined) and, from p, must not run past the end of the address space.
bool SpanFits(const void* p, size_t rows, size_t cols, size_t ld, size_t elem) {
  if (rows == 0 || cols == 0) return true;
  if (ld != 0 && rows - 1 > kSizeMax / ld) return false;
  const size_t last_row = (rows - 1) * ld;
  if (last_row > kSizeMax - cols) return false;
  const size_t elems = last_row + cols;
  constexpr size_t kMaxObject =
      static_cast<size_t>(std::numeric_limits<ptrdiff_t>::max());
  if (elems > kMaxObject / elem) return false;
  const uintptr_t begin = reinterpret_cast<uintptr_t>(p);
  return begin <= std::numeric_limits<uintptr_t>::max() - (elems * elem - 1);
}

qgemm_status CheckMatrix(const char* name, const void* p, size_t rows,
                         size_t cols, size_t ld, size_t elem) {
  if (ld < cols) {
    return Fail(QGEMM_INVALID_ARGUMENT,
                "stride of %s (%zu) is smaller than its row length (%zu)", name,
                ld, cols);
  }
  if (!SpanFits(p, rows, cols, ld, elem)) {
    return Fail(QGEMM_INVALID_ARGUMENT,
                "%s of %zu x %zu with stride %zu overflows the address space",
                name, rows, cols, ld);
  }
  if (p == nullptr && rows != 0 && cols != 0) {
    return Fail(QGEMM_INVALID_ARGUMENT, "%s is NULL", name);
  }
  return QGEMM_OK;
}

qgemm_status CheckRequant(const qgemm_requant* rq, size_t n) {
  if (rq == nullptr) return Fail(QGEMM_INVALID_ARGUMENT, "requant is NULL");
  if (rq->per_channel != 0 && rq->per_channel != 1) {
    return Fail(QGEMM_INVALID_ARGUMENT, "per_channel must be 0 or 1, not %d",
                rq->per_channel);
  }
  const size_t count = rq->per_channel ? n : 1;
  if (count > 0 && (rq->multiplier == nullptr || rq->shift == nullptr)) {
    return Fail(QGEMM_INVALID_ARGUMENT, "requant %s is NULL",
                rq->multiplier == nullptr ? "multiplier" : "shift");
  }
  for (size_t j = 0; j < count; ++j) {
    if (rq->multiplier[j] < 0) {
      return Fail(QGEMM_INVALID_ARGUMENT,
                  "multiplier[%zu] = %d is negative (M0 must be in [0, "
                  "2^31-1])",
                  j, rq->multiplier[j]);
    }
    if (rq->shift[j] < -31 || rq->shift[j] > 30) {
      return Fail(QGEMM_INVALID_ARGUMENT,
                  "shift[%zu] = %d is outside [-31, 30]", j, rq->shift[j]);
    }
  }
  if (rq->c_zero_point < 0 || rq->c_zero_point > 255) {
    return Fail(QGEMM_INVALID_ARGUMENT, "c_zero_point %d is outside [0, 255]",
                rq->c_zero_point);
  }
  if (rq->c_min > rq->c_max) {
    return Fail(QGEMM_INVALID_ARGUMENT, "c_min %u is greater than c_max %u",
                rq->c_min, rq->c_max);
  }
  return QGEMM_OK;
}

// Holds a context for the length of one call: the caller's, or this
// thread's own single-threaded one for ctx == NULL. Detects a context
// entered by two threads at once.
class ContextLease {
 public:
  explicit ContextLease(qgemm_context* ctx) : ctx_(ctx) {}
  ~ContextLease() {
    if (held_) ctx_->in_use.store(false, std::memory_order_release);
  }
  ContextLease(const ContextLease&) = delete;
  ContextLease& operator=(const ContextLease&) = delete;

  qgemm_status Acquire() {
    return CatchOutOfMemory([this] { return AcquireOrThrow(); });
  }
  qgemm_context* get() const { return ctx_; }

 private:
  qgemm_status AcquireOrThrow() {
    if (ctx_ == nullptr) {
      const qgemm::KernelTable* table = nullptr;
      std::string why;
      const qgemm_status status = qgemm::ResolveDefaultIsa(&table, &why);
      if (status != QGEMM_OK) return Fail(status, "%s", why.c_str());
      ThreadContext& tc = ThisThreadContext();
      if (tc.ctx == nullptr) {
        tc.ctx = qgemm::NewContext(1, table);
        if (tc.ctx == nullptr) {
          return Fail(QGEMM_OUT_OF_MEMORY, "out of memory for a context");
        }
      }
      tc.ctx->table = table;
      ctx_ = tc.ctx;
    }
    if (ctx_->in_use.exchange(true, std::memory_order_acquire)) {
      ctx_ = nullptr;
      return Fail(QGEMM_INVALID_ARGUMENT,
                  "context is in use by another thread (a context serves one "
                  "caller at a time)");
    }
    held_ = true;
    return QGEMM_OK;
  }

  struct ThreadContext {
    qgemm_context* ctx = nullptr;
    ~ThreadContext() {
      if (ctx != nullptr) {
        ctx->~qgemm_context();
        qgemm::FreeAligned(ctx);
      }
    }
  };
  static ThreadContext& ThisThreadContext() {
    static thread_local ThreadContext tc;
    return tc;
  }

  qgemm_context* ctx_;
  bool held_ = false;
};

qgemm_status CheckPackedB(const qgemm_packed_b* b, const qgemm_context* ctx) {
  if (b == nullptr) return Fail(QGEMM_INVALID_ARGUMENT, "packed B is NULL");
  // Never null here (the lease is held); the check keeps GCC's armhf
  // -Wnull-dereference from seeing the failed-lease path.
  if (ctx == nullptr) return Fail(QGEMM_INVALID_ARGUMENT, "no context");
  if (ctx->table->packing_format != b->table->packing_format) {
    return Fail(QGEMM_INVALID_ARGUMENT,
                "B was packed for ISA '%s' but the context uses '%s': pack it "
                "again with this context",
                b->table->isa, ctx->table->isa);
  }
  return QGEMM_OK;
}

qgemm::PackedBView ViewOf(const qgemm_packed_b& p,
                          const qgemm::KernelTable* table) {
  return {table,         p.variant,    p.k,      p.n,        p.k_padded,
          p.panel_bytes, p.num_panels, p.panels, p.col_sums, p.zero_point};
}

// The status of a driver run: it fails only when its scratch cannot grow.
qgemm_status DriverStatus(qgemm_status driver) {
  if (driver != QGEMM_OK) {
    return Fail(driver, "out of memory for scratch buffers");
  }
  return Ok();
}

qgemm_status Run(qgemm_context* ctx, size_t m, const uint8_t* a, size_t lda,
                 uint8_t za, const qgemm::PackedBView& b,
                 const qgemm::OutputSpec& out) {
  return DriverStatus(qgemm::RunGemm(ctx, m, a, lda, za, b, out));
}

qgemm::OutputSpec RequantSpec(const qgemm_requant* rq, uint8_t* c, size_t ldc) {
  qgemm::OutputSpec spec{};
  spec.kind = qgemm::OutputKind::kUint8;
  spec.bias = rq->bias;
  spec.multiplier = rq->multiplier;
  spec.shift = rq->shift;
  spec.per_channel = rq->per_channel != 0;
  spec.c_zero_point = rq->c_zero_point;
  spec.c_min = rq->c_min;
  spec.c_max = rq->c_max;
  spec.c = c;
  spec.ldc = ldc;
  return spec;
}

qgemm::OutputSpec S32Spec(const int32_t* bias, int32_t* c, size_t ldc) {
  qgemm::OutputSpec spec{};
  spec.kind = qgemm::OutputKind::kInt32;
  spec.bias = bias;
  spec.c = c;
  spec.ldc = ldc;
  return spec;
}

qgemm::OutputSpec F32Spec(const qgemm_dequant* dq, float* c, size_t ldc) {
  qgemm::OutputSpec spec{};
  spec.kind = qgemm::OutputKind::kFloat;
  spec.per_channel = dq->per_channel != 0;
  spec.a_scale = dq->a_scale;
  spec.b_scale = dq->b_scale;
  spec.bias_f = dq->bias;
  spec.c = c;
  spec.ldc = ldc;
  return spec;
}

// A scale of the float output: finite and normal (>= FLT_MIN). Zero,
// subnormal, negative, infinite and NaN scales are refused (the comparisons
// are false for NaN).
bool ValidScale(float s) {
  return s >= std::numeric_limits<float>::min() &&
         s <= std::numeric_limits<float>::max();
}

// Checks the dequantization parameters of a call with n columns (n already
// checked with C). Reads no more than the entries the call will.
qgemm_status CheckDequant(const qgemm_dequant* dq, size_t n) {
  if (dq == nullptr) return Fail(QGEMM_INVALID_ARGUMENT, "dequant is NULL");
  if (dq->per_channel != 0 && dq->per_channel != 1) {
    return Fail(QGEMM_INVALID_ARGUMENT, "per_channel must be 0 or 1, not %d",
                dq->per_channel);
  }
  if (!ValidScale(dq->a_scale)) {
    return Fail(QGEMM_INVALID_ARGUMENT,
                "a_scale %g is not a finite normal float >= FLT_MIN",
                static_cast<double>(dq->a_scale));
  }
  const size_t count = dq->per_channel ? n : 1;
  if (count > 0 && dq->b_scale == nullptr) {
    return Fail(QGEMM_INVALID_ARGUMENT, "dequant b_scale is NULL");
  }
  for (size_t j = 0; j < count; ++j) {
    if (!ValidScale(dq->b_scale[j])) {
      return Fail(QGEMM_INVALID_ARGUMENT,
                  "b_scale[%zu] = %g is not a finite normal float >= FLT_MIN",
                  j, static_cast<double>(dq->b_scale[j]));
    }
  }
  if (dq->bias != nullptr) {
    for (size_t j = 0; j < n; ++j) {
      if (!std::isfinite(dq->bias[j])) {
        return Fail(QGEMM_INVALID_ARGUMENT, "bias[%zu] = %g is not finite", j,
                    static_cast<double>(dq->bias[j]));
      }
    }
  }
  return QGEMM_OK;
}

// Shared by the unpacked entry points: checks, then packs B and runs.
qgemm_status GemmUnpacked(qgemm_context* ctx, size_t m, size_t n, size_t k,
                          const uint8_t* a, size_t lda, uint8_t za,
                          const uint8_t* b, size_t ldb, uint8_t zb,
                          const qgemm::OutputSpec& spec) {
  const size_t c_elem = qgemm::OutputElementBytes(spec.kind);
  qgemm_status st;
  if ((st = CheckMatrix("A", a, m, k, lda, 1)) != QGEMM_OK) return st;
  if ((st = CheckMatrix("B", b, k, n, ldb, 1)) != QGEMM_OK) return st;
  if ((st = CheckMatrix("C", spec.c, m, n, spec.ldc, c_elem)) != QGEMM_OK) {
    return st;
  }
  ContextLease lease(ctx);
  if ((st = lease.Acquire()) != QGEMM_OK) return st;
  if (m == 0 || n == 0) return Ok();
  if (qgemm::UseDotRows(*lease.get()->table, m, k)) {
    return DriverStatus(
        qgemm::RunDotRows(lease.get(), m, n, k, a, lda, za, b, ldb, zb, spec));
  }
  // B is packed inside the call, by the slots that use it.
  size_t k_padded, num_panels, panel_bytes, total;
  if (!qgemm::PackedBSizes(*lease.get()->table, k, n, &k_padded, &num_panels,
                           &panel_bytes, &total)) {
    return Fail(QGEMM_INVALID_ARGUMENT, "k x n = %zu x %zu is too large", k, n);
  }
  return DriverStatus(qgemm::RunGemmUnpacked(lease.get(), m, n, k, a, lda, za,
                                             b, ldb, zb, spec));
}

qgemm_status GemmPacked(qgemm_context* ctx, size_t m, const uint8_t* a,
                        size_t lda, uint8_t za, const qgemm_packed_b* b,
                        const qgemm::OutputSpec& spec) {
  if (b == nullptr) return Fail(QGEMM_INVALID_ARGUMENT, "packed B is NULL");
  const size_t c_elem = qgemm::OutputElementBytes(spec.kind);
  qgemm_status st;
  if ((st = CheckMatrix("A", a, m, b->k, lda, 1)) != QGEMM_OK) return st;
  if ((st = CheckMatrix("C", spec.c, m, b->n, spec.ldc, c_elem)) != QGEMM_OK) {
    return st;
  }
  ContextLease lease(ctx);
  if ((st = lease.Acquire()) != QGEMM_OK) return st;
  if ((st = CheckPackedB(b, lease.get())) != QGEMM_OK) return st;
  if (m == 0 || b->n == 0) return Ok();
  return Run(lease.get(), m, a, lda, za, ViewOf(*b, b->table), spec);
}

// The table a new context starts with (QGEMM_ISA, else the best the CPU
// runs); the reason as the last error when there is none.
qgemm_status DefaultTable(const qgemm::KernelTable** table) {
  return CatchOutOfMemory([&] {
    std::string why;
    const qgemm_status status = qgemm::ResolveDefaultIsa(table, &why);
    if (status != QGEMM_OK) return Fail(status, "%s", why.c_str());
    return QGEMM_OK;
  });
}

}  // namespace

namespace qgemm {

qgemm_status SetLastError(qgemm_status status, const char* message) {
  return Fail(status, "%s", message);
}

qgemm_status ClearLastError() { return Ok(); }

}  // namespace qgemm

extern "C" {

const char* qgemm_status_string(qgemm_status s) {
  switch (EnumAsInt(s)) {  // any int from a C caller
    case QGEMM_OK:
      return "QGEMM_OK";
    case QGEMM_INVALID_ARGUMENT:
      return "QGEMM_INVALID_ARGUMENT";
    case QGEMM_OUT_OF_MEMORY:
      return "QGEMM_OUT_OF_MEMORY";
    case QGEMM_UNSUPPORTED:
      return "QGEMM_UNSUPPORTED";
  }
  return "QGEMM_UNKNOWN_STATUS";
}

const char* qgemm_last_error(void) { return g_last_error; }

qgemm_status qgemm_context_create(int num_threads, qgemm_context** out) {
  if (out == nullptr) return Fail(QGEMM_INVALID_ARGUMENT, "out is NULL");
  *out = nullptr;
  if (num_threads < 0) {
    return Fail(QGEMM_INVALID_ARGUMENT, "num_threads %d is negative",
                num_threads);
  }
  const qgemm::KernelTable* table = nullptr;
  const qgemm_status resolved = DefaultTable(&table);
  if (resolved != QGEMM_OK) return resolved;
  qgemm_context* ctx = qgemm::NewContext(num_threads, table);
  if (ctx == nullptr) {
    return Fail(QGEMM_OUT_OF_MEMORY, "out of memory creating a context");
  }
  *out = ctx;
  return Ok();
}

qgemm_status qgemm_context_create_with_executor(
    qgemm_parallel_for_fn parallel_for, void* executor_context, int num_threads,
    qgemm_context** out) {
  if (out == nullptr) return Fail(QGEMM_INVALID_ARGUMENT, "out is NULL");
  *out = nullptr;
  if (parallel_for == nullptr) {
    return Fail(QGEMM_INVALID_ARGUMENT, "parallel_for is NULL");
  }
  if (num_threads < 1) {
    return Fail(QGEMM_INVALID_ARGUMENT,
                "num_threads %d is below 1 (an executor runs at least one "
                "task at a time)",
                num_threads);
  }
  const qgemm::KernelTable* table = nullptr;
  const qgemm_status resolved = DefaultTable(&table);
  if (resolved != QGEMM_OK) return resolved;
  qgemm_context* ctx = qgemm::NewExecutorContext(parallel_for, executor_context,
                                                 num_threads, table);
  if (ctx == nullptr) {
    return Fail(QGEMM_OUT_OF_MEMORY, "out of memory creating a context");
  }
  *out = ctx;
  return Ok();
}

void qgemm_context_destroy(qgemm_context* ctx) {
  if (ctx == nullptr) return;
  ctx->~qgemm_context();
  qgemm::FreeAligned(ctx);
}

int qgemm_context_num_threads(const qgemm_context* ctx) {
  return ctx == nullptr ? 1 : ctx->num_threads;
}

qgemm_status qgemm_context_set_isa(qgemm_context* ctx, const char* isa) {
  if (ctx == nullptr) return Fail(QGEMM_INVALID_ARGUMENT, "context is NULL");
  const qgemm::KernelTable* table = nullptr;
  const qgemm_status resolved = CatchOutOfMemory([&] {
    std::string why;
    const qgemm_status status = qgemm::ResolveIsa(isa, &table, &why);
    if (status != QGEMM_OK) return Fail(status, "%s", why.c_str());
    return QGEMM_OK;
  });
  if (resolved != QGEMM_OK) return resolved;
  if (ctx->in_use.exchange(true, std::memory_order_acquire)) {
    return Fail(QGEMM_INVALID_ARGUMENT, "context is in use by another thread");
  }
  ctx->table = table;
  ctx->in_use.store(false, std::memory_order_release);
  return Ok();
}

const char* qgemm_context_isa(const qgemm_context* ctx) {
  if (ctx != nullptr) return ctx->table->isa;
  const qgemm::KernelTable* table = nullptr;
  const qgemm_status resolved = CatchOutOfMemory([&] {
    std::string why;
    return qgemm::ResolveDefaultIsa(&table, &why);
  });
  return resolved == QGEMM_OK ? table->isa : nullptr;
}

size_t qgemm_supported_isas(const char** names, size_t capacity) {
  size_t count = 0;
  const qgemm::IsaEntry* list = qgemm::IsaList(&count);
  const qgemm::CpuFeatures cpu = qgemm::EffectiveCpu();
  size_t usable = 0;
  for (size_t i = 0; i < count; ++i) {
    if (!qgemm::IsaUsable(list[i], cpu, nullptr)) continue;
    if (names != nullptr && usable < capacity) names[usable] = list[i].name;
    ++usable;
  }
  return usable;
}

qgemm_status qgemm_u8u8_requant(qgemm_context* ctx, size_t m, size_t n,
                                size_t k, const uint8_t* a, size_t lda,
                                uint8_t a_zero_point, const uint8_t* b,
                                size_t ldb, uint8_t b_zero_point,
                                const qgemm_requant* rq, uint8_t* c,
                                size_t ldc) {
  // Shapes and pointers first: an n that is wrong must be caught before
  // the per-channel arrays are read over n entries.
  qgemm_status st;
  if ((st = CheckMatrix("A", a, m, k, lda, 1)) != QGEMM_OK) return st;
  if ((st = CheckMatrix("B", b, k, n, ldb, 1)) != QGEMM_OK) return st;
  if ((st = CheckMatrix("C", c, m, n, ldc, 1)) != QGEMM_OK) return st;
  if ((st = CheckRequant(rq, n)) != QGEMM_OK) return st;
  return GemmUnpacked(ctx, m, n, k, a, lda, a_zero_point, b, ldb, b_zero_point,
                      RequantSpec(rq, c, ldc));
}

qgemm_status qgemm_u8u8_s32(qgemm_context* ctx, size_t m, size_t n, size_t k,
                            const uint8_t* a, size_t lda, uint8_t a_zero_point,
                            const uint8_t* b, size_t ldb, uint8_t b_zero_point,
                            const int32_t* bias, int32_t* c, size_t ldc) {
  return GemmUnpacked(ctx, m, n, k, a, lda, a_zero_point, b, ldb, b_zero_point,
                      S32Spec(bias, c, ldc));
}

qgemm_status qgemm_u8u8_f32(qgemm_context* ctx, size_t m, size_t n, size_t k,
                            const uint8_t* a, size_t lda, uint8_t a_zero_point,
                            const uint8_t* b, size_t ldb, uint8_t b_zero_point,
                            const qgemm_dequant* dq, float* c, size_t ldc) {
  // Shapes first: n must be right before the per-channel arrays are read.
  qgemm_status st;
  if ((st = CheckMatrix("A", a, m, k, lda, 1)) != QGEMM_OK) return st;
  if ((st = CheckMatrix("B", b, k, n, ldb, 1)) != QGEMM_OK) return st;
  if ((st = CheckMatrix("C", c, m, n, ldc, sizeof(float))) != QGEMM_OK) {
    return st;
  }
  if ((st = CheckDequant(dq, n)) != QGEMM_OK) return st;
  return GemmUnpacked(ctx, m, n, k, a, lda, a_zero_point, b, ldb, b_zero_point,
                      F32Spec(dq, c, ldc));
}

qgemm_status qgemm_pack_b(qgemm_context* ctx, size_t k, size_t n,
                          const uint8_t* b, size_t ldb, qgemm_layout layout,
                          uint8_t b_zero_point, qgemm_packed_b** out) {
  if (out == nullptr) return Fail(QGEMM_INVALID_ARGUMENT, "out is NULL");
  *out = nullptr;
  // A C caller may pass any int here; in C++ an enum holding a value
  // outside its enumerators' range is undefined, so read it as an int.
  const int layout_value = EnumAsInt(layout);
  if (layout_value != QGEMM_LAYOUT_KN && layout_value != QGEMM_LAYOUT_NK) {
    return Fail(QGEMM_INVALID_ARGUMENT, "unknown layout %d", layout_value);
  }
  const bool nk = layout_value == QGEMM_LAYOUT_NK;
  qgemm_status st = nk ? CheckMatrix("B", b, n, k, ldb, 1)
                       : CheckMatrix("B", b, k, n, ldb, 1);
  if (st != QGEMM_OK) return st;
  ContextLease lease(ctx);
  if ((st = lease.Acquire()) != QGEMM_OK) return st;
  const qgemm::KernelTable& t = *lease.get()->table;
  size_t k_padded, num_panels, panel_bytes, total;
  if (!qgemm::PackedBSizes(t, k, n, &k_padded, &num_panels, &panel_bytes,
                           &total) ||
      num_panels > kSizeMax / (t.nr * sizeof(int32_t))) {
    return Fail(QGEMM_INVALID_ARGUMENT, "k x n = %zu x %zu is too large", k, n);
  }
  void* mem = qgemm::AllocateAligned(sizeof(qgemm_packed_b));
  void* panels = qgemm::AllocateAligned(total);
  void* sums = qgemm::AllocateAligned(num_panels * t.nr * sizeof(int32_t));
  if (mem == nullptr || panels == nullptr || sums == nullptr) {
    qgemm::FreeAligned(mem);
    qgemm::FreeAligned(panels);
    qgemm::FreeAligned(sums);
    return Fail(QGEMM_OUT_OF_MEMORY, "out of memory packing B (%zu bytes)",
                total);
  }
  auto* p = new (mem) qgemm_packed_b;
  p->table = &t;
  p->k = k;
  p->n = n;
  p->k_padded = k_padded;
  p->panel_bytes = panel_bytes;
  p->num_panels = num_panels;
  p->zero_point = b_zero_point;
  p->panels = static_cast<uint8_t*>(panels);
  p->col_sums = static_cast<int32_t*>(sums);
  p->variant = qgemm::PackB(lease.get(), t, k, n, b, ldb, nk ? 1 : 0, p->panels,
                            p->col_sums);
  *out = p;
  return Ok();
}

void qgemm_packed_b_destroy(qgemm_packed_b* p) {
  if (p == nullptr) return;
  qgemm::FreeAligned(p->panels);
  qgemm::FreeAligned(p->col_sums);
  qgemm::FreeAligned(p);
}

size_t qgemm_packed_b_k(const qgemm_packed_b* p) { return p ? p->k : 0; }
size_t qgemm_packed_b_n(const qgemm_packed_b* p) { return p ? p->n : 0; }
const char* qgemm_packed_b_isa(const qgemm_packed_b* p) {
  return p ? p->table->isa : nullptr;
}

qgemm_status qgemm_u8u8_requant_packed(qgemm_context* ctx, size_t m,
                                       const uint8_t* a, size_t lda,
                                       uint8_t a_zero_point,
                                       const qgemm_packed_b* b,
                                       const qgemm_requant* rq, uint8_t* c,
                                       size_t ldc) {
  if (b == nullptr) return Fail(QGEMM_INVALID_ARGUMENT, "packed B is NULL");
  qgemm_status st;
  if ((st = CheckMatrix("A", a, m, b->k, lda, 1)) != QGEMM_OK) return st;
  if ((st = CheckMatrix("C", c, m, b->n, ldc, 1)) != QGEMM_OK) return st;
  if ((st = CheckRequant(rq, b->n)) != QGEMM_OK) return st;
  return GemmPacked(ctx, m, a, lda, a_zero_point, b, RequantSpec(rq, c, ldc));
}

qgemm_status qgemm_u8u8_s32_packed(qgemm_context* ctx, size_t m,
                                   const uint8_t* a, size_t lda,
                                   uint8_t a_zero_point,
                                   const qgemm_packed_b* b, const int32_t* bias,
                                   int32_t* c, size_t ldc) {
  return GemmPacked(ctx, m, a, lda, a_zero_point, b, S32Spec(bias, c, ldc));
}

qgemm_status qgemm_u8u8_f32_packed(qgemm_context* ctx, size_t m,
                                   const uint8_t* a, size_t lda,
                                   uint8_t a_zero_point,
                                   const qgemm_packed_b* b,
                                   const qgemm_dequant* dq, float* c,
                                   size_t ldc) {
  if (b == nullptr) return Fail(QGEMM_INVALID_ARGUMENT, "packed B is NULL");
  qgemm_status st;
  if ((st = CheckMatrix("A", a, m, b->k, lda, 1)) != QGEMM_OK) return st;
  if ((st = CheckMatrix("C", c, m, b->n, ldc, sizeof(float))) != QGEMM_OK) {
    return st;
  }
  if ((st = CheckDequant(dq, b->n)) != QGEMM_OK) return st;
  return GemmPacked(ctx, m, a, lda, a_zero_point, b, F32Spec(dq, c, ldc));
}

}  // extern "C"

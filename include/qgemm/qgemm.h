/* qgemm: quantized uint8 GEMM for integer-arithmetic-only inference.
 *
 * The stable C ABI. Valid C99 and C++. Numerics (bit-exact on every ISA and
 * thread count):
 *   acc[i][j] = sum_k (A[i][k] - za) * (B[k][j] - zb) + bias[j]   (int32,
 * wraps) C[i][j]   = clamp(Zc + RDBPOT(SRDHM(acc << max(shift,0), M0),
 *                                 max(-shift,0)), c_min, c_max)
 * with gemmlowp's SaturatingRoundingDoublingHighMul and RoundingDivideByPOT.
 *
 * Concurrency: a qgemm_packed_b is immutable once made and may be read by any
 * number of threads and contexts at once. A qgemm_context is used by one
 * caller thread at a time; a second caller that enters a context already in
 * use gets QGEMM_INVALID_ARGUMENT (detected, never memory corruption).
 *
 * Bad input never crashes and never writes outside C: it returns a status
 * and leaves C untouched; qgemm_last_error() says what was wrong.
 */
#ifndef QGEMM_QGEMM_H_
#define QGEMM_QGEMM_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define QGEMM_VERSION_MAJOR 0
#define QGEMM_VERSION_MINOR 1
#define QGEMM_VERSION_PATCH 0

typedef enum qgemm_status {
  QGEMM_OK = 0,
  QGEMM_INVALID_ARGUMENT = 1, /* null pointer, bad stride, bad shift, ... */
  QGEMM_OUT_OF_MEMORY = 2,
  QGEMM_UNSUPPORTED = 3 /* e.g. an ISA this CPU or build does not have */
} qgemm_status;

/* A static string naming the status ("QGEMM_OK", ...). */
const char* qgemm_status_string(qgemm_status s);

/* The message of the last non-OK status returned on this thread (a static
 * or thread-local string, valid until the next qgemm call on this thread);
 * "" if none. */
const char* qgemm_last_error(void);

/* ---- Contexts: threads, scratch memory, ISA choice ---------------------- */

typedef struct qgemm_context qgemm_context;

/* num_threads: 0 = all cores; 1 = the caller's thread only (no pool); at
 * most 256 (more are clamped); fewer if the system refuses threads. */
qgemm_status qgemm_context_create(int num_threads, qgemm_context** out);
void qgemm_context_destroy(qgemm_context* ctx);
/* The number of threads a call on ctx uses (the caller's included). */
int qgemm_context_num_threads(const qgemm_context* ctx);

/* The caller's thread pool. qgemm calls
 *   parallel_for(executor_context, task, task_context, count)
 * which must call task(task_context, i) exactly once for every i in
 * [0, count), in any order, on any threads (at most num_threads at a
 * time), and return only when every call has returned. qgemm never calls
 * parallel_for from inside a task, and splits its work for num_threads
 * (count <= num_threads); a call too small to gain from threads runs on
 * the calling thread without calling parallel_for. The bytes of every
 * result are the same as with qgemm's own threads. This matches
 * pthreadpool_parallelize_1d(pool, task, task_context, count, 0).
 * parallel_for NULL or num_threads < 1: QGEMM_INVALID_ARGUMENT (*out set to
 * NULL). The context starts no thread of its own; num_threads above 256 is
 * clamped to 256 (qgemm_context_num_threads tells). Like any context, it
 * serves one caller thread at a time. */
typedef void (*qgemm_task_fn)(void* task_context, size_t index);
typedef void (*qgemm_parallel_for_fn)(void* executor_context,
                                      qgemm_task_fn task, void* task_context,
                                      size_t count);
qgemm_status qgemm_context_create_with_executor(
    qgemm_parallel_for_fn parallel_for, void* executor_context, int num_threads,
    qgemm_context** out);

/* isa: "auto" (the best this CPU and build have) or a name, best first:
 * "amx", "avx512vnni", "avxvnni", "avx2", "neoni8mm", "neondot", "neon",
 * "scalar". Unknown names:
 * QGEMM_INVALID_ARGUMENT; a known ISA this build or CPU lacks:
 * QGEMM_UNSUPPORTED. The environment variable QGEMM_ISA sets the default the
 * same way. */
qgemm_status qgemm_context_set_isa(qgemm_context* ctx, const char* isa);
/* The ISA ctx uses; with ctx NULL, the default (QGEMM_ISA or "auto"). */
const char* qgemm_context_isa(const qgemm_context* ctx);

/* Writes up to capacity names (best first) of the ISAs this CPU and build
 * can run; returns how many there are in all. names may be NULL when
 * capacity is 0. */
size_t qgemm_supported_isas(const char** names, size_t capacity);

/* ---- GEMM ---------------------------------------------------------------- */

typedef struct qgemm_requant {
  const int32_t* bias; /* n entries, or NULL */
  const int32_t*
      multiplier;       /* M0 in [0, 2^31-1]: 1 entry, or n if per_channel */
  const int32_t* shift; /* in [-31, 30]: 1 entry, or n if per_channel */
  int per_channel;
  int32_t c_zero_point; /* in [0, 255] */
  uint8_t c_min, c_max; /* c_min <= c_max */
} qgemm_requant;

/* C (m x n, row-major, ldc) = requant((A - za)(B - zb) + bias).
 * A: m x k row-major (lda >= k); B: k x n row-major (ldb >= n); ldc >= n.
 * ctx may be NULL: the calling thread only, default ISA.
 * m, n or k may be 0 (k = 0: acc = bias). */
qgemm_status qgemm_u8u8_requant(qgemm_context* ctx, size_t m, size_t n,
                                size_t k, const uint8_t* a, size_t lda,
                                uint8_t a_zero_point, const uint8_t* b,
                                size_t ldb, uint8_t b_zero_point,
                                const qgemm_requant* rq, uint8_t* c,
                                size_t ldc);

/* Same, int32 output: C = (A - za)(B - zb) + bias (bias may be NULL). */
qgemm_status qgemm_u8u8_s32(qgemm_context* ctx, size_t m, size_t n, size_t k,
                            const uint8_t* a, size_t lda, uint8_t a_zero_point,
                            const uint8_t* b, size_t ldb, uint8_t b_zero_point,
                            const int32_t* bias, int32_t* c, size_t ldc);

/* ---- Float output (dynamically quantized layers) ------------------------
 *   acc[i][j] = sum_k (A[i][k] - za) * (B[k][j] - zb)     int32, wraps
 *   s[j]      = a_scale * b_scale[per_channel ? j : 0]     one float multiply
 *   C[i][j]   = fmaf((float)acc[i][j], s[j], bias ? bias[j] : 0.0f)
 * (float)acc and the float multiply round to nearest even; fmaf rounds once.
 * Bit-exact on every ISA and thread count, like the uint8 output. The
 * product s[j] may overflow to inf (or fall to a subnormal or 0); C then
 * follows fmaf (0 * inf is NaN, whose sign and payload are the hardware's).
 * a_scale and every b_scale must be finite and >= FLT_MIN (a normal float),
 * every bias entry finite: otherwise QGEMM_INVALID_ARGUMENT, C untouched.
 * k = 0: acc = 0, so C = fmaf(0, s, bias), the bias (+0.0f without). */
typedef struct qgemm_dequant {
  float a_scale;
  const float* b_scale; /* 1 entry, or n entries if per_channel */
  int per_channel;      /* 0 or 1 */
  const float* bias;    /* n entries, or NULL */
} qgemm_dequant;

/* A: m x k row-major (lda >= k); B: k x n row-major (ldb >= n); ldc >= n
 * (in floats). ctx may be NULL as for the other calls. */
qgemm_status qgemm_u8u8_f32(qgemm_context* ctx, size_t m, size_t n, size_t k,
                            const uint8_t* a, size_t lda, uint8_t a_zero_point,
                            const uint8_t* b, size_t ldb, uint8_t b_zero_point,
                            const qgemm_dequant* dq, float* c, size_t ldc);

/* ---- Packed weights ------------------------------------------------------ */

/* QGEMM_LAYOUT_KN: B is k x n row-major (ldb >= n).
 * QGEMM_LAYOUT_NK: B is n x k row-major (ldb >= k), the [out][in] weight of a
 * linear layer. */
typedef enum qgemm_layout {
  QGEMM_LAYOUT_KN = 0,
  QGEMM_LAYOUT_NK = 1
} qgemm_layout;

typedef struct qgemm_packed_b qgemm_packed_b;

/* Packs B (column sums included) once for the ISA of ctx (ctx NULL: the
 * default ISA). A packed B used with a context on another ISA returns
 * QGEMM_INVALID_ARGUMENT. */
qgemm_status qgemm_pack_b(qgemm_context* ctx, size_t k, size_t n,
                          const uint8_t* b, size_t ldb, qgemm_layout layout,
                          uint8_t b_zero_point, qgemm_packed_b** out);
void qgemm_packed_b_destroy(qgemm_packed_b* p);
/* Facts of a packed B (NULL p: 0 or NULL). */
size_t qgemm_packed_b_k(const qgemm_packed_b* p);
size_t qgemm_packed_b_n(const qgemm_packed_b* p);
const char* qgemm_packed_b_isa(const qgemm_packed_b* p);

qgemm_status qgemm_u8u8_requant_packed(qgemm_context* ctx, size_t m,
                                       const uint8_t* a, size_t lda,
                                       uint8_t a_zero_point,
                                       const qgemm_packed_b* b,
                                       const qgemm_requant* rq, uint8_t* c,
                                       size_t ldc);

/* Int32 output with packed weights (bias may be NULL). */
qgemm_status qgemm_u8u8_s32_packed(qgemm_context* ctx, size_t m,
                                   const uint8_t* a, size_t lda,
                                   uint8_t a_zero_point,
                                   const qgemm_packed_b* b, const int32_t* bias,
                                   int32_t* c, size_t ldc);

/* Float output with packed weights (see qgemm_u8u8_f32). */
qgemm_status qgemm_u8u8_f32_packed(qgemm_context* ctx, size_t m,
                                   const uint8_t* a, size_t lda,
                                   uint8_t a_zero_point,
                                   const qgemm_packed_b* b,
                                   const qgemm_dequant* dq, float* c,
                                   size_t ldc);

/* ---- Quantization helpers (the paper's section 2) ------------------------ */

/* real_multiplier = multiplier * 2^(shift - 31), multiplier in [2^30, 2^31)
 * (TFLite's QuantizeMultiplier); 0 gives (0, 0); so small that shift < -31
 * gives (0, 0); negative, NaN, infinite or too large (shift > 30):
 * QGEMM_INVALID_ARGUMENT. */
qgemm_status qgemm_quantize_multiplier(double real_multiplier,
                                       int32_t* multiplier, int32_t* shift);

/* Scale and zero point for uint8 covering [rmin, rmax] extended to hold 0,
 * with the zero point nudged to an integer so that real 0 is exact.
 * NaN/inf or rmin > rmax: QGEMM_INVALID_ARGUMENT. rmin == rmax == 0 gives
 * scale 1, zero point 0. */
qgemm_status qgemm_choose_quant_params(float rmin, float rmax, float* scale,
                                       uint8_t* zero_point);

/* The same with the narrow range (the paper's weight tweak, TensorFlow's
 * narrow_range): codes [1, 255] instead of [0, 255], so
 * scale = (max - min) / 254 and zero_point = 1 + round(-min / scale) for
 * [rmin, rmax] extended to hold 0; rmin == rmax == 0 gives scale 1, zero
 * point 1. The caller quantizes to codes clamped to [1, 255]. Errors as
 * qgemm_choose_quant_params. */
qgemm_status qgemm_choose_quant_params_narrow(float rmin, float rmax,
                                              float* scale,
                                              uint8_t* zero_point);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* QGEMM_QGEMM_H_ */

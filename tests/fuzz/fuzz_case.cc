// Decodes a fuzz input into one call of the C API and checks the contract:
// a call the contract calls bad input returns exactly the status it must
// and leaves C byte for byte untouched; a valid call returns QGEMM_OK with
// C equal to the int64 reference and the bytes between rows (ldc > n)
// untouched. Every buffer ends at a PROT_NONE page, so any read or write
// past it faults. The model of "valid" below is written from qgemm.h, not
// from src/api.cc.
#include "fuzz_case.h"

#include <qgemm/qgemm.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <limits>
#include <vector>

#include "dispatch/isa.h"
#include "tests/reference.h"

namespace qgemm_fuzz {
namespace {

constexpr size_t kSizeMax = std::numeric_limits<size_t>::max();
constexpr size_t kPtrdiffMax =
    static_cast<size_t>(std::numeric_limits<ptrdiff_t>::max());
// Largest buffer, MAC count and channel count a valid call may need; a
// valid call beyond them is skipped (the library may read all of it).
constexpr size_t kMaxBytes = size_t{1} << 22;
constexpr size_t kMaxWork = size_t{1} << 22;
constexpr size_t kMaxChannels = 4096;
// Packs of a valid B with a dimension between this and kSizeMax / 8 would
// allocate gigabytes for nothing: skipped.
constexpr size_t kMaxPackDim = size_t{1} << 22;

std::atomic<size_t> g_executed{0};

class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint8_t U8(size_t off) const { return off < size_ ? data_[off] : 0; }
  uint16_t U16(size_t off) const {
    return static_cast<uint16_t>(U8(off) | (U8(off + 1) << 8));
  }
  uint32_t U32(size_t off) const {
    return static_cast<uint32_t>(U16(off)) |
           (static_cast<uint32_t>(U16(off + 2)) << 16);
  }

 private:
  const uint8_t* data_;
  size_t size_;
};

// xorshift64*: data generator seeded from the input.
class Rng {
 public:
  explicit Rng(uint32_t seed) : s_(0x9E3779B97F4A7C15ull ^ seed) {}
  uint64_t Next() {
    s_ ^= s_ >> 12;
    s_ ^= s_ << 25;
    s_ ^= s_ >> 27;
    return s_ * 0x2545F4914F6CDD1Dull;
  }
  uint32_t U32() { return static_cast<uint32_t>(Next() >> 32); }

 private:
  uint64_t s_;
};

// 2^e, or the largest power of two of size_t where e is beyond it (32-bit
// targets): the fuzzer still gets a huge power of two there.
size_t Pow2(unsigned e) {
  constexpr unsigned kBits = std::numeric_limits<size_t>::digits;
  return size_t{1} << (e < kBits ? e : kBits - 1);
}

size_t HostileSize(uint8_t sel, uint16_t v) {
  const size_t table[] = {kSizeMax,
                          kSizeMax - 1,
                          kSizeMax / 2,
                          kSizeMax / 2 + 1,
                          Pow2(32),
                          Pow2(32) + 1,
                          Pow2(31),
                          Pow2(62),
                          kSizeMax / 255,
                          kSizeMax / 4 - 1,
                          33026,
                          65536 + size_t{v},
                          (size_t{v} + 1) * Pow2(40),
                          kSizeMax - v,
                          kPtrdiffMax,
                          kPtrdiffMax + 1};
  return table[sel % (sizeof(table) / sizeof(table[0]))];
}

size_t Size(const Input& in, size_t off, size_t bound) {
  const uint8_t sel = in.U8(off);
  const uint16_t v = in.U16(off + 1);
  if (sel < 224) return v % (bound + 1);
  return HostileSize(sel, v);
}

size_t Stride(const Input& in, size_t off, size_t row) {
  const uint8_t sel = in.U8(off);
  const uint8_t v = in.U8(off + 1);
  if (sel < 160) return row + v % 4;
  if (sel < 200) return row + v;
  if (sel < 220) return row >= 1u + v % 4 ? row - 1 - v % 4 : 0;
  if (sel < 235) return 0;
  const size_t table[] = {kSizeMax,           kSizeMax / 2, Pow2(40),
                          kSizeMax - row + 1, kPtrdiffMax,  kSizeMax / 3};
  return table[v % (sizeof(table) / sizeof(table[0]))];
}

// Bytes a rows x cols matrix with stride ld spans, elem bytes each; false
// when that is not a valid object size (overflow or > PTRDIFF_MAX).
bool Span(size_t rows, size_t cols, size_t ld, size_t elem, size_t* bytes) {
  *bytes = 0;
  if (rows == 0 || cols == 0) return true;
  if (ld != 0 && rows - 1 > kSizeMax / ld) return false;
  const size_t last = (rows - 1) * ld;
  if (last > kSizeMax - cols) return false;
  const size_t elems = last + cols;
  if (elems > kPtrdiffMax / elem) return false;
  *bytes = elems * elem;
  return true;
}

// A matrix of more than kMaxBytes is either bad input (the library must
// refuse it without reading) or a valid call that is skipped: a page of it
// is enough.
size_t BufferBytes(size_t span) { return span <= kMaxBytes ? span : 4096; }

// A buffer that ends right before a PROT_NONE page.
class GuardedBuffer {
 public:
  explicit GuardedBuffer(size_t bytes) : bytes_(bytes) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    const size_t body = (bytes + page - 1) / page * page;
    map_bytes_ = body + page;
    void* m = mmap(nullptr, map_bytes_, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
      std::perror("mmap");
      std::abort();
    }
    map_ = static_cast<uint8_t*>(m);
    if (mprotect(map_ + body, page, PROT_NONE) != 0) {
      std::perror("mprotect");
      std::abort();
    }
    data_ = map_ + body - bytes;
  }
  ~GuardedBuffer() { munmap(map_, map_bytes_); }
  GuardedBuffer(const GuardedBuffer&) = delete;
  GuardedBuffer& operator=(const GuardedBuffer&) = delete;

  uint8_t* data() const { return data_; }
  size_t size() const { return bytes_; }
  template <typename T>
  T* as() const {
    // The mapping is page-aligned and data_ ends it at an element boundary.
    return static_cast<T*>(static_cast<void*>(data_));
  }

 private:
  uint8_t* map_;
  size_t map_bytes_;
  uint8_t* data_;
  size_t bytes_;
};

void FillBytes(uint8_t* p, size_t n, uint8_t mode, Rng& rng) {
  for (size_t i = 0; i < n; ++i) {
    switch (mode % 4) {
      case 0:
        p[i] = static_cast<uint8_t>(rng.U32());
        break;
      case 1:
        p[i] = (rng.U32() & 1) ? 255 : 0;
        break;
      case 2:
        p[i] = 255;
        break;
      default:
        p[i] = 0;
        break;
    }
  }
}

// The contexts the fuzzer calls with, kept across inputs (as a server
// would): [0] unused, [t] has t threads.
qgemm_context* CachedContext(int threads) {
  static qgemm_context* contexts[4] = {};
  if (contexts[threads] == nullptr) {
    if (qgemm_context_create(threads, &contexts[threads]) != QGEMM_OK) {
      std::fprintf(stderr, "context_create(%d) failed: %s\n", threads,
                   qgemm_last_error());
      std::abort();
    }
  }
  return contexts[threads];
}

bool Supported(const char* isa) {
  const char* names[16];
  const size_t count = std::min<size_t>(16, qgemm_supported_isas(names, 16));
  for (size_t i = 0; i < count; ++i) {
    if (std::strcmp(names[i], isa) == 0) return true;
  }
  return false;
}

uint32_t PackingFormat(const char* isa) {
  const qgemm::IsaEntry* e = qgemm::FindIsa(isa);
  return e != nullptr && e->table != nullptr ? e->table->packing_format : 0;
}

bool SameBytes(const uint8_t* x, const uint8_t* y, size_t n) {
  return n == 0 || std::memcmp(x, y, n) == 0;
}

std::string Describe(const char* what, qgemm_status got, const char* want) {
  char buf[512];
  std::snprintf(buf, sizeof buf, "%s: got %s (%s), want %s", what,
                qgemm_status_string(got), qgemm_last_error(), want);
  return buf;
}

}  // namespace

size_t ExecutedCalls() { return g_executed.load(); }

std::string RunFuzzInput(const uint8_t* data, size_t size) {
  const Input in(data, size);
  const int op = in.U8(0) % 5;
  const bool requant = op == 0 || op == 2 || op == 3;
  const bool packed = op >= 2;
  const bool nk = op >= 3;
  const uint8_t nulls = in.U8(3);

  // ---- Context and ISA.
  qgemm_context* ctx = nullptr;
  const uint8_t threads = in.U8(1);
  if (threads == 255) {
    qgemm_context* bad = reinterpret_cast<qgemm_context*>(&ctx);
    const qgemm_status st = qgemm_context_create(-1, &bad);
    if (st != QGEMM_INVALID_ARGUMENT || bad != nullptr) {
      return Describe("context_create(-1)", st, "QGEMM_INVALID_ARGUMENT");
    }
  } else if (threads != 0) {
    ctx = CachedContext(1 + (threads - 1) % 3);
  }
  // The ISA byte (fuzz_case.h): ISAs by their registry id, which never
  // changes, so a stored input names the same ISA after ISAs are added.
  const uint8_t isa_byte = in.U8(2);
  static const char* const kSpecialNames[] = {"", "bogus", nullptr, "AVX2",
                                              "auto "};
  char unregistered[16];
  const char* isa = "auto";
  bool bad_name = false;
  if (isa_byte >= 7 && isa_byte <= 11) {
    isa = kSpecialNames[isa_byte - 7];
    bad_name = true;
  } else if (isa_byte >= 2) {
    const uint32_t id = isa_byte <= 6 ? isa_byte - 2u : isa_byte - 12u;
    if (const qgemm::IsaEntry* e = qgemm::FindIsaById(id)) {
      isa = e->name;
    } else {
      std::snprintf(unregistered, sizeof unregistered, "isa#%u", id);
      isa = unregistered;
      bad_name = true;
    }
  }
  if (ctx != nullptr) {
    qgemm_status st = qgemm_context_set_isa(ctx, "auto");
    if (st != QGEMM_OK) return Describe("set_isa(auto)", st, "QGEMM_OK");
    const char* isa_before = qgemm_context_isa(ctx);
    st = qgemm_context_set_isa(ctx, isa);
    qgemm_status want = QGEMM_OK;
    if (bad_name) {
      want = QGEMM_INVALID_ARGUMENT;
    } else if (isa_byte >= 2 && !Supported(isa)) {
      want = QGEMM_UNSUPPORTED;
    }
    if (st != want) return Describe("set_isa", st, qgemm_status_string(want));
    if (st != QGEMM_OK &&
        std::strcmp(qgemm_context_isa(ctx), isa_before) != 0) {
      return "a failed set_isa changed the context's ISA";
    }
  } else if (isa_byte != 0) {
    const qgemm_status st = qgemm_context_set_isa(nullptr, isa);
    if (st != QGEMM_INVALID_ARGUMENT) {
      return Describe("set_isa(NULL ctx)", st, "QGEMM_INVALID_ARGUMENT");
    }
  }

  // ---- Arguments.
  const size_t m = Size(in, 4, 64);
  const size_t n = Size(in, 7, 64);
  const size_t k = Size(in, 10, 300);
  const size_t a_rows = m, a_cols = k;
  const size_t b_rows = nk ? n : k, b_cols = nk ? k : n;
  const size_t lda = Stride(in, 13, a_cols);
  const size_t ldb = Stride(in, 15, b_cols);
  const size_t ldc = Stride(in, 17, n);
  const uint8_t za = in.U8(19), zb = in.U8(20);
  const uint8_t layout_byte = in.U8(21);
  const int layout = layout_byte < 250
                         ? (nk ? QGEMM_LAYOUT_NK : QGEMM_LAYOUT_KN)
                         : layout_byte - 240;
  const uint8_t pc_byte = in.U8(22);
  const int per_channel = pc_byte < 250 ? pc_byte % 2 : pc_byte - 252;
  const uint8_t mult_mode = in.U8(23) % 4, shift_mode = in.U8(24) % 4;
  const int32_t c_zero_point =
      in.U8(25) < 240 ? in.U8(26) : static_cast<int32_t>(in.U32(26));
  const uint8_t c_min = in.U8(30), c_max = in.U8(31);
  const uint8_t bias_mode = in.U8(32) % 4;
  const bool bias_present = (nulls & 0x40) != 0;
  Rng rng(in.U32(35));
  const size_t c_elem = requant ? 1 : sizeof(int32_t);

  // ---- The model: which arguments are bad input, per qgemm.h.
  size_t a_bytes = 0, b_bytes = 0, c_bytes = 0;
  const bool a_ok = lda >= a_cols && Span(a_rows, a_cols, lda, 1, &a_bytes) &&
                    !((nulls & 1) && a_bytes != 0);
  const bool b_ok = ldb >= b_cols && Span(b_rows, b_cols, ldb, 1, &b_bytes) &&
                    !((nulls & 2) && b_bytes != 0);
  const bool c_ok = ldc >= n && Span(m, n, ldc, c_elem, &c_bytes) &&
                    !((nulls & 4) && c_bytes != 0);
  const bool layout_ok = layout == QGEMM_LAYOUT_KN || layout == QGEMM_LAYOUT_NK;
  // Requant checks the library makes before it reads the per-channel
  // arrays, and those it makes while or after reading them.
  const size_t channels = per_channel == 1 ? n : 1;
  const bool rq_early_ok =
      !requant || (!(nulls & 8) && (per_channel == 0 || per_channel == 1) &&
                   (channels == 0 || !(nulls & 0x30)));
  const size_t param_count = std::min(channels, kMaxChannels);
  const size_t bias_count = std::min(n, kMaxChannels);

  // ---- Buffers, sized from the arguments (truncated where the arguments
  // are bad input and the library must not read them).
  GuardedBuffer a_buf(BufferBytes(a_bytes));
  GuardedBuffer b_buf(BufferBytes(b_bytes));
  GuardedBuffer c_buf(BufferBytes(c_bytes));
  GuardedBuffer mult_buf(param_count * sizeof(int32_t));
  GuardedBuffer shift_buf(param_count * sizeof(int32_t));
  GuardedBuffer bias_buf(bias_count * sizeof(int32_t));
  FillBytes(a_buf.data(), a_buf.size(), in.U8(33), rng);
  FillBytes(b_buf.data(), b_buf.size(), in.U8(34), rng);
  FillBytes(c_buf.data(), c_buf.size(), 0, rng);
  int32_t* mult = mult_buf.as<int32_t>();
  int32_t* shift = shift_buf.as<int32_t>();
  int32_t* bias = bias_buf.as<int32_t>();
  bool rq_values_ok = true;
  for (size_t j = 0; j < param_count; ++j) {
    const uint32_t r = rng.U32();
    switch (mult_mode) {
      case 0:
        mult[j] = static_cast<int32_t>((1u << 30) | (r >> 2));
        break;
      case 1:
        mult[j] = static_cast<int32_t>(r);
        break;
      case 2:
        mult[j] = 0;
        break;
      default:
        mult[j] = std::numeric_limits<int32_t>::max();
        break;
    }
    switch (shift_mode) {
      case 0:
        shift[j] = static_cast<int32_t>(rng.U32() % 62) - 31;
        break;
      case 1:
        shift[j] = static_cast<int32_t>(rng.U32() % 256) - 128;
        break;
      case 2:
        shift[j] = -31;
        break;
      default:
        shift[j] = 30;
        break;
    }
    rq_values_ok =
        rq_values_ok && mult[j] >= 0 && shift[j] >= -31 && shift[j] <= 30;
  }
  for (size_t j = 0; j < bias_count; ++j) {
    switch (bias_mode) {
      case 0:
        bias[j] = static_cast<int32_t>(rng.U32() % 2001) - 1000;
        break;
      case 1:
        bias[j] = static_cast<int32_t>(rng.U32());
        break;
      case 2:
        bias[j] = std::numeric_limits<int32_t>::max();
        break;
      default:
        bias[j] = std::numeric_limits<int32_t>::min();
        break;
    }
  }
  const bool rq_late_ok = rq_values_ok && c_zero_point >= 0 &&
                          c_zero_point <= 255 && c_min <= c_max;
  const bool rq_ok = !requant || (rq_early_ok && rq_late_ok);
  const bool params_truncated =
      requant && channels > param_count && !(nulls & 0x30);
  const bool bias_truncated = bias_present && n > bias_count;

  qgemm_requant rq;
  rq.bias = bias_present ? bias : nullptr;
  rq.multiplier = (nulls & 0x10) ? nullptr : mult;
  rq.shift = (nulls & 0x20) ? nullptr : shift;
  rq.per_channel = per_channel;
  rq.c_zero_point = c_zero_point;
  rq.c_min = c_min;
  rq.c_max = c_max;
  const qgemm_requant* rq_arg = (nulls & 8) ? nullptr : &rq;
  const uint8_t* a_arg = (nulls & 1) ? nullptr : a_buf.data();
  const uint8_t* b_arg = (nulls & 2) ? nullptr : b_buf.data();
  uint8_t* c_arg = (nulls & 4) ? nullptr : c_buf.data();
  const int32_t* bias_arg = bias_present ? bias : nullptr;

  // ---- Packing.
  qgemm_packed_b* pb = nullptr;
  size_t call_n = n;
  if (packed) {
    qgemm_context* pack_ctx = (nulls & 0x80) ? nullptr : ctx;
    const bool pack_bad = !layout_ok || !b_ok;
    const bool huge = std::max(k, n) > kSizeMax / 8;
    if (!pack_bad && !huge &&
        (b_bytes > kMaxBytes || std::max(k, n) > kMaxPackDim)) {
      return "";  // valid, but too large to run here
    }
    // The layout the library reads B in is the one passed; a valid layout
    // other than the op's reads B with the other shape, so only the op's.
    const qgemm_status st = qgemm_pack_b(
        pack_ctx, k, n, b_arg, ldb, static_cast<qgemm_layout>(layout), zb, &pb);
    if (pack_bad || huge) {
      const bool ok_status = pack_bad ? st == QGEMM_INVALID_ARGUMENT
                                      : (st == QGEMM_INVALID_ARGUMENT ||
                                         st == QGEMM_OUT_OF_MEMORY);
      if (!ok_status || pb != nullptr) {
        qgemm_packed_b_destroy(pb);
        return Describe("pack_b of bad input", st,
                        pack_bad ? "QGEMM_INVALID_ARGUMENT"
                                 : "QGEMM_INVALID_ARGUMENT or OUT_OF_MEMORY");
      }
    } else if (st != QGEMM_OK || pb == nullptr) {
      return Describe("pack_b", st, "QGEMM_OK");
    } else if (qgemm_packed_b_k(pb) != k || qgemm_packed_b_n(pb) != n) {
      qgemm_packed_b_destroy(pb);
      return "packed B reports the wrong k or n";
    }
  }
  struct PackedGuard {
    qgemm_packed_b* p;
    ~PackedGuard() { qgemm_packed_b_destroy(p); }
  } packed_guard{pb};

  // ---- The call's expected status.
  bool valid;
  if (packed) {
    const bool isa_match =
        pb != nullptr && PackingFormat(qgemm_packed_b_isa(pb)) ==
                             PackingFormat(qgemm_context_isa(ctx));
    valid = pb != nullptr && a_ok && c_ok && rq_ok && isa_match;
    call_n = pb != nullptr ? qgemm_packed_b_n(pb) : n;
    // With a bad packed B the library stops before reading anything else.
    if (pb != nullptr && !valid && (params_truncated || bias_truncated) &&
        (!requant || rq_early_ok) && a_ok && c_ok) {
      return "";  // it may read every channel before it finds the error
    }
  } else {
    valid = a_ok && b_ok && c_ok && rq_ok;
    if (!valid && params_truncated && a_ok && b_ok && c_ok && rq_early_ok) {
      return "";  // ditto
    }
  }
  if (valid) {
    const bool too_much_work =
        m != 0 && call_n != 0 &&
        (m > kMaxWork || call_n > kMaxWork / m ||
         std::max<size_t>(k, 1) > kMaxWork / (m * call_n));
    if (a_bytes > kMaxBytes || b_bytes > kMaxBytes || c_bytes > kMaxBytes ||
        params_truncated || bias_truncated || too_much_work) {
      return "";  // valid, but too large to run here
    }
  }

  // ---- The call.
  std::vector<uint8_t> c_before(c_buf.data(), c_buf.data() + c_buf.size());
  qgemm_status st;
  switch (op) {
    case 0:
      st = qgemm_u8u8_requant(ctx, m, n, k, a_arg, lda, za, b_arg, ldb, zb,
                              rq_arg, c_arg, ldc);
      break;
    case 1:
      st =
          qgemm_u8u8_s32(ctx, m, n, k, a_arg, lda, za, b_arg, ldb, zb, bias_arg,
                         static_cast<int32_t*>(static_cast<void*>(c_arg)), ldc);
      break;
    case 2:
    case 3:
      st = qgemm_u8u8_requant_packed(ctx, m, a_arg, lda, za, pb, rq_arg, c_arg,
                                     ldc);
      break;
    default:
      st = qgemm_u8u8_s32_packed(
          ctx, m, a_arg, lda, za, pb, bias_arg,
          static_cast<int32_t*>(static_cast<void*>(c_arg)), ldc);
      break;
  }
  if (!valid) {
    if (st != QGEMM_INVALID_ARGUMENT) {
      return Describe("bad input", st, "QGEMM_INVALID_ARGUMENT");
    }
    if (!SameBytes(c_before.data(), c_buf.data(), c_buf.size())) {
      return "a call that returned an error wrote to C";
    }
    return "";
  }
  if (st != QGEMM_OK) return Describe("valid call", st, "QGEMM_OK");
  g_executed.fetch_add(1, std::memory_order_relaxed);

  // ---- Compare with the reference; bytes outside the m x n live part
  // must be as they were.
  std::vector<uint8_t> want = c_before;
  if (m != 0 && n != 0) {
    if (requant) {
      qgemm_test::RefRequantParams ref;
      if (bias_present) ref.bias.assign(bias, bias + n);
      ref.multiplier.assign(mult, mult + param_count);
      ref.shift.assign(shift, shift + param_count);
      ref.per_channel = per_channel == 1;
      ref.c_zero_point = c_zero_point;
      ref.c_min = c_min;
      ref.c_max = c_max;
      qgemm_test::RefGemmRequant(m, n, k, a_buf.data(), lda, za, b_buf.data(),
                                 ldb, nk, zb, ref, want.data(), ldc);
    } else {
      std::vector<int32_t> c32(c_buf.size() / sizeof(int32_t));
      if (!c32.empty()) {
        std::memcpy(c32.data(), c_before.data(), c32.size() * sizeof(int32_t));
      }
      qgemm_test::RefGemmS32(m, n, k, a_buf.data(), lda, za, b_buf.data(), ldb,
                             nk, zb, bias_present ? bias : nullptr, c32.data(),
                             ldc);
      if (!c32.empty()) {
        std::memcpy(want.data(), c32.data(), c32.size() * sizeof(int32_t));
      }
    }
  }
  if (!SameBytes(want.data(), c_buf.data(), c_buf.size())) {
    size_t i = 0;
    while (want[i] == c_buf.data()[i]) ++i;
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "C differs from the reference at byte %zu (row %zu) of "
                  "%zu x %zu x %zu on %s: got %u, want %u",
                  i, i / (ldc * c_elem), m, n, k, qgemm_context_isa(ctx),
                  c_buf.data()[i], want[i]);
    return buf;
  }
  return "";
}

}  // namespace qgemm_fuzz

// Every micro-kernel of every table, called directly (no driver, no C API)
// on one packed A panel and one packed B panel, for every tile shape
// m_eff x n_eff in [1, MR] x [1, NR], both B layouts, and the depths where
// packing and the K loops turn: 1 .. 2 KR + 1 and 8 KR - 1 .. 8 KR + 1.
// The offsets are built as dispatch/driver.cc builds them (kernel_table.h's
// identities), so a kernel that is right through the driver only because
// the driver never hands it some tile shape, depth or parameter mix is
// caught here. Every parameter of the sweep comes from the table's
// mr / nr / kr, nothing per ISA.
//
// The uint8, int32 and float outputs go to a strided C whose row padding and
// tail hold sentinels; the packed panels sit in 64-byte-aligned buffers of the
// driver's exact size (dispatch/memory.h), so the sanitizer builds catch a
// kernel that reads past a panel (unless it reads in inline assembly, which
// they do not see), and A and B end at their last element.
#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <limits>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "dispatch/kernel_table.h"
#include "dispatch/memory.h"
#include "tests/gemm_case.h"
#include "tests/reference.h"
#include "tests/tables_under_test.h"

namespace qgemm_test {
namespace {

struct SweepParam {
  TableUnderTest table;
  uint32_t variant;
  size_t k;
};

void PrintTo(const SweepParam& p, std::ostream* os) {
  *os << p.table.name << " variant " << p.variant << " k=" << p.k;
}

std::string SweepName(const testing::TestParamInfo<SweepParam>& info) {
  return info.param.table.name + "_v" + std::to_string(info.param.variant) +
         "_k" + std::to_string(info.param.k);
}

// The depths of the sweep for a depth granule kr: every depth through two
// whole granules and one more (empty, partial and full last granule, and
// each K-loop remainder), and around eight granules (an unrolled main loop
// with and without a tail); and around the 64-depth step of AMX tiles (one
// whole step; one and a 9-group tail; two and a partial group).
std::vector<size_t> SweepDepths(size_t kr) {
  std::vector<size_t> ks;
  for (size_t k = 1; k <= 2 * kr + 1; ++k) ks.push_back(k);
  for (size_t k : {8 * kr - 1, 8 * kr, 8 * kr + 1}) {
    if (k > ks.back()) ks.push_back(k);
  }
  for (size_t k : {size_t{64}, size_t{100}, size_t{129}}) {
    if (k > ks.back()) ks.push_back(k);
  }
  return ks;
}

// The kernel variants a table has: v with any micro-kernel (the test
// requires all three).
std::vector<uint32_t> Variants(const qgemm::KernelTable& t) {
  std::vector<uint32_t> vs;
  for (uint32_t v = 0; v < static_cast<uint32_t>(qgemm::kMaxKernelVariants);
       ++v) {
    if (t.gemm_u8[v] != nullptr || t.gemm_s32[v] != nullptr ||
        t.gemm_f32[v] != nullptr) {
      vs.push_back(v);
    }
  }
  return vs;
}

std::vector<SweepParam> AllSweepParams() {
  std::vector<SweepParam> out;
  for (const TableUnderTest& t : TablesUnderTest()) {
    for (uint32_t v : Variants(*t.table)) {
      for (size_t k : SweepDepths(t.table->kr)) out.push_back({t, v, k});
    }
  }
  return out;
}

constexpr int kLayouts = 2;  // B stored k x n, and n x k

// Cases one sweep test runs: every tile shape in both layouts.
size_t CasesPerTest(const qgemm::KernelTable& t) {
  return size_t{t.mr} * t.nr * kLayouts;
}

// Sentinels: C's row padding and tail, and the bytes after a packed panel.
constexpr uint8_t kSentinel = 0xA5;
constexpr size_t kGuardBytes = 128;

struct AlignedFree {
  void operator()(void* p) const { qgemm::FreeAligned(p); }
};
using AlignedBytes = std::unique_ptr<uint8_t, AlignedFree>;

AlignedBytes Allocate(size_t bytes) {
  return AlignedBytes(static_cast<uint8_t*>(qgemm::AllocateAligned(bytes)));
}

// Requantization values the columns cycle through: the ends of the ranges
// qgemm.h allows (shift in [-31, 30], M0 in [0, 2^31 - 1]) and values
// between.
constexpr int32_t kShifts[] = {-31, 30,  -8, 0,  -1,  1,  -16, -30,
                               29,  -12, 4,  -4, -10, -6, -20, -14};
constexpr int32_t kMultipliers[] = {
    1 << 30,   std::numeric_limits<int32_t>::max(), (1 << 30) + 12345, 0, 1,
    1518500250};
constexpr uint8_t kZeroPoints[] = {0, 128, 255};
// Float output scales b_scale[j] (a_scale is one of kAScales): normal
// floats from FLT_MIN to FLT_MAX, so that s[j] = a_scale * b_scale[j] also
// falls to subnormals and 0 and overflows to inf.
constexpr float kAScales[] = {0.0123f, 1.0f, 3.0e-20f, 6.5e20f};
constexpr float kBScales[] = {0.00457f, FLT_MIN,  FLT_MAX, 1.0f,
                              0.75f,    2.0e-19f, 1.5e19f, 0.031f};

// One tile shape of one sweep test: its own data, zero points and output
// parameters, chosen deterministically from its index.
struct TileCase {
  size_t m_eff, n_eff, k;
  int nk;  // B layout
  uint32_t variant;
  size_t index;  // position in the sweep test, seeds everything else
};

std::string Describe(const TileCase& c) {
  std::ostringstream s;
  s << "m_eff=" << c.m_eff << " n_eff=" << c.n_eff << " k=" << c.k
    << (c.nk ? " NK" : " KN") << " variant=" << c.variant
    << " case=" << c.index;
  return s.str();
}

// A's bytes: uniform, the two extremes, or all 255 (the largest products).
std::vector<uint8_t> MakeA(size_t m, size_t k, size_t kind, std::mt19937& rng) {
  std::vector<uint8_t> a(m * k);
  for (auto& x : a) {
    const auto r = static_cast<uint8_t>(rng());
    x = kind == 0 ? r : kind == 1 ? ((r & 1) ? 255 : 0) : 255;
  }
  return a;
}

// A deterministic choice among n for a case's parameter `salt`: hashed, so
// that the parameters do not move in step with each other or with the tile
// shape as the case index grows.
size_t Pick(size_t index, uint32_t salt, size_t n) {
  uint32_t h = static_cast<uint32_t>(index) * 0x9E3779B1u + salt * 0x85EBCA77u;
  h ^= h >> 15;
  h *= 0xC2B2AE3Du;
  h ^= h >> 13;
  return h % n;
}

// What the cases of one sweep test really ran, to be checked against what
// the test claims to cover.
struct Coverage {
  std::set<std::pair<int, int>> zero_points;  // (za, zb)
  std::set<int32_t> shifts;
  size_t with_bias = 0, without_bias = 0;
  size_t variant_confirmed = 0;  // choose_variant returned the case's variant
  size_t row_sums_checked = 0, col_sums_checked = 0;  // over exactly k
  size_t in_place_tiles = 0;  // also run with A read in place
};

// Runs one tile through the three micro-kernels of the variant; "" or the first
// thing that is wrong. On a table with tile_strips, m_eff may exceed MR: the
// call is then a strip of tiles down M (TileArgs::a_panel_step), its A
// panels packed one after another as the driver packs an A block.
std::string RunTile(const qgemm::KernelTable& t, const TileCase& c,
                    Coverage* seen) {
  // The case's parameters follow its index, shifted per depth and variant
  // so that a tile shape meets different ones in each test.
  const size_t mix = c.index + 977 * c.k + 7919 * c.variant;
  std::mt19937 rng(static_cast<uint32_t>(mix));
  const size_t mr = t.mr, nr = t.nr, k = c.k, v = c.variant;
  const size_t k_padded = (k + t.kr - 1) / t.kr * t.kr;
  const size_t panels = (c.m_eff + mr - 1) / mr;
  std::ostringstream err;
  if (panels > 1 && !t.tile_strips) return "a strip on a table without them";

  // A: m_eff rows of k bytes, lda > k with sentinel padding; the buffer
  // ends at the last row's last byte.
  const size_t lda = k + 1 + Pick(mix, 2, 3);
  const std::vector<uint8_t> a_live = MakeA(c.m_eff, k, Pick(mix, 1, 3), rng);
  std::vector<uint8_t> a((c.m_eff - 1) * lda + k, kSentinel);
  for (size_t i = 0; i < c.m_eff; ++i) {
    std::memcpy(&a[i * lda], &a_live[i * k], k);
  }

  // B: the math k x n_eff, stored k x n or n x k. Variant 0 is exact for
  // any B, so it gets every kind; a faster variant gets only data inside
  // its range (kernels/avx2/pack.cc ChooseVariant: each depth pair at most
  // 128 from 128 in sum), which choose_variant must confirm below.
  static constexpr Data kAnyB[] = {Data::kRandom, Data::kExtremes,
                                   Data::kPairLimitB, Data::kNarrowB,
                                   Data::kPairEdgeB};
  static constexpr Data kNarrowRangeB[] = {Data::kPairLimitB, Data::kNarrowB};
  const Data b_kind =
      v == 0 ? kAnyB[Pick(mix, 3, std::size(kAnyB))]
             : kNarrowRangeB[Pick(mix, 3, std::size(kNarrowRangeB))];
  const std::vector<uint8_t> b_live = MakeB(b_kind, k, c.n_eff, c.nk != 0, rng);
  const size_t b_rows = c.nk ? c.n_eff : k, b_cols = c.nk ? k : c.n_eff;
  const size_t ldb = b_cols + 1 + Pick(mix, 4, 2);
  std::vector<uint8_t> b((b_rows - 1) * ldb + b_cols, kSentinel);
  for (size_t r = 0; r < b_rows; ++r) {
    std::memcpy(&b[r * ldb], &b_live[r * b_cols], b_cols);
  }
  if (v != 0) {
    if (t.choose_variant == nullptr) {
      return "variant " + std::to_string(v) + " exists without choose_variant";
    }
    const uint32_t chosen = t.choose_variant(k, c.n_eff, b.data(), ldb, c.nk);
    if (chosen != v) {
      err << "choose_variant picks " << chosen << " for this B, not " << v
          << ": the case would not test what its name says";
      return err.str();
    }
    ++seen->variant_confirmed;
  }

  // Zero points from {0, 128, 255}, all nine pairs over consecutive cases.
  const uint8_t za = kZeroPoints[mix % 3];
  const uint8_t zb = kZeroPoints[(mix / 3) % 3];

  // Pack both panels into guarded buffers: nothing past the panel's size
  // may be written, and the sums must be those of exactly k entries.
  const size_t a_bytes = t.a_panel_bytes(k_padded);
  const size_t b_bytes = t.b_panel_bytes(k_padded);
  const size_t a_block_bytes = panels * a_bytes;
  AlignedBytes a_packing = Allocate(a_block_bytes + kGuardBytes);
  AlignedBytes b_packing = Allocate(b_bytes + kGuardBytes);
  if (!a_packing || !b_packing) return "out of memory";
  std::memset(a_packing.get(), kSentinel, a_block_bytes + kGuardBytes);
  std::memset(b_packing.get(), kSentinel, b_bytes + kGuardBytes);
  std::vector<int32_t> row_sums(panels * mr, -1), col_sums(nr, -1);
  for (size_t p = 0; p < panels; ++p) {
    t.pack_a_panel(c.variant, k, std::min(mr, c.m_eff - p * mr),
                   a.data() + p * mr * lda, lda, a_packing.get() + p * a_bytes,
                   row_sums.data() + p * mr);
  }
  t.pack_b_panel(c.variant, k, c.n_eff, b.data(), ldb, c.nk, b_packing.get(),
                 col_sums.data());
  for (size_t x = 0; x < kGuardBytes; ++x) {
    if (a_packing.get()[a_block_bytes + x] != kSentinel) {
      return "pack_a_panel wrote past a_panel_bytes";
    }
    if (b_packing.get()[b_bytes + x] != kSentinel) {
      return "pack_b_panel wrote past b_panel_bytes";
    }
  }
  for (size_t i = 0; i < panels * mr; ++i) {
    int32_t want = 0;
    for (size_t p = 0; i < c.m_eff && p < k; ++p) want += a_live[i * k + p];
    if (row_sums[i] != want) {
      err << "row sum " << i << " = " << row_sums[i] << ", want " << want
          << " (the sum of its " << k << " entries)";
      return err.str();
    }
    if (i < c.m_eff) ++seen->row_sums_checked;
  }
  for (size_t j = 0; j < nr; ++j) {
    int32_t want = 0;
    for (size_t p = 0; j < c.n_eff && p < k; ++p) {
      want += c.nk ? b_live[j * k + p] : b_live[p * c.n_eff + j];
    }
    if (col_sums[j] != want) {
      err << "column sum " << j << " = " << col_sums[j] << ", want " << want
          << " (the sum of its " << k << " entries)";
      return err.str();
    }
    if (j < c.n_eff) ++seen->col_sums_checked;
  }
  // Tables that can read A in place sum its rows without packing: the same
  // sums (kernel_table.h, sum_a_rows).
  const bool in_place_too = t.sum_a_rows != nullptr && k == k_padded;
  if (in_place_too) {
    std::vector<int32_t> in_place_sums(panels * mr, -1);
    for (size_t p = 0; p < panels; ++p) {
      t.sum_a_rows(k, std::min(mr, c.m_eff - p * mr), a.data() + p * mr * lda,
                   lda, in_place_sums.data() + p * mr);
    }
    if (in_place_sums != row_sums) {
      return "sum_a_rows disagrees with pack_a_panel's row sums";
    }
    ++seen->in_place_tiles;
  }
  // The kernels read the panels from buffers of exactly the driver's size.
  AlignedBytes a_panel = Allocate(a_block_bytes);
  AlignedBytes b_panel = Allocate(b_bytes);
  if (!a_panel || !b_panel) return "out of memory";
  std::memcpy(a_panel.get(), a_packing.get(), a_block_bytes);
  std::memcpy(b_panel.get(), b_packing.get(), b_bytes);

  // Offsets and output parameters, as dispatch/driver.cc builds them.
  std::vector<int32_t> row_offset(panels * mr);
  const auto row_sum_factor =
      static_cast<uint32_t>(t.b_packed_offset[v] - int32_t{zb});
  for (size_t i = 0; i < panels * mr; ++i) {
    row_offset[i] = static_cast<int32_t>(static_cast<uint32_t>(row_sums[i]) *
                                         row_sum_factor);
  }
  RefRequantParams rq;
  rq.per_channel = true;
  rq.multiplier.resize(c.n_eff);
  rq.shift.resize(c.n_eff);
  for (size_t j = 0; j < c.n_eff; ++j) {
    const size_t q = mix + 5 * j;
    rq.shift[j] = kShifts[q % std::size(kShifts)];
    rq.multiplier[j] = kMultipliers[Pick(q, 8, std::size(kMultipliers))];
    if (j % 4 == 3) {
      rq.multiplier[j] = std::uniform_int_distribution<int32_t>(
          1 << 30, std::numeric_limits<int32_t>::max())(rng);
    }
  }
  // Bias in two of three cases: mostly small, sometimes near the int32 ends
  // so that the column offset wraps.
  const size_t bias_kind = Pick(mix, 5, 6);
  if (bias_kind < 4) {
    const int32_t scale =
        bias_kind == 0 ? std::numeric_limits<int32_t>::max() : int32_t{1} << 16;
    std::uniform_int_distribution<int32_t> bias(-scale, scale);
    rq.bias.resize(c.n_eff);
    for (auto& x : rq.bias) x = bias(rng);
  }
  static constexpr struct {
    int32_t zc;
    uint8_t lo, hi;
  } kClamps[] = {{128, 0, 255}, {0, 0, 255}, {255, 0, 255}, {3, 20, 240}};
  const auto& clamp_values = kClamps[Pick(mix, 6, std::size(kClamps))];
  rq.c_zero_point = clamp_values.zc;
  rq.c_min = clamp_values.lo;
  rq.c_max = clamp_values.hi;

  std::vector<int32_t> col_offset(nr), multiplier(nr), left_shift(nr),
      right_shift(nr);
  const uint32_t kzz = static_cast<uint32_t>(k) * za * zb;
  for (size_t j = 0; j < nr; ++j) {
    const bool real = j < c.n_eff;
    const uint32_t bias_j =
        real && !rq.bias.empty() ? static_cast<uint32_t>(rq.bias[j]) : 0;
    col_offset[j] = static_cast<int32_t>(
        bias_j - uint32_t{za} * static_cast<uint32_t>(col_sums[j]) + kzz);
    const size_t q = real ? j : 0;
    multiplier[j] = rq.multiplier[q];
    left_shift[j] = std::max(rq.shift[q], 0);
    right_shift[j] = std::max(-rq.shift[q], 0);
  }
  const qgemm::OutputClamp clamp = {rq.c_zero_point, rq.c_min, rq.c_max};
  // Float output: per-channel scales and a float bias when the int32 case
  // has one; its column offsets carry no bias (driver.cc ExpandColumns).
  // Padding columns get junk the kernel must not let into C.
  RefDequantParams dq;
  dq.a_scale = kAScales[Pick(mix, 9, std::size(kAScales))];
  dq.per_channel = true;
  std::vector<int32_t> col_offset_f(nr);
  std::vector<float> scale(nr, std::nanf("")), bias_f(nr, -FLT_MAX);
  for (size_t j = 0; j < nr; ++j) {
    const bool real = j < c.n_eff;
    const uint32_t bias_j =
        real && !rq.bias.empty() ? static_cast<uint32_t>(rq.bias[j]) : 0;
    col_offset_f[j] =
        static_cast<int32_t>(static_cast<uint32_t>(col_offset[j]) - bias_j);
    if (!real) continue;
    dq.b_scale.push_back(kBScales[Pick(mix + j, 10, std::size(kBScales))]);
    scale[j] = dq.a_scale * dq.b_scale[j];
    if (!rq.bias.empty()) {
      dq.bias.push_back(static_cast<float>(rq.bias[j]) *
                        (j % 3 == 0 ? 1e-30f : 1e-3f));
      bias_f[j] = dq.bias[j];
    } else {
      bias_f[j] = 0.0f;
    }
  }
  seen->zero_points.insert({za, zb});
  seen->shifts.insert(rq.shift.begin(), rq.shift.end());
  ++(rq.bias.empty() ? seen->without_bias : seen->with_bias);

  // C: ldc > n_eff with sentinels in the padding and a guard tail.
  const size_t ldc = c.n_eff + 1 + Pick(mix, 7, 4);
  const int32_t* bias = rq.bias.empty() ? nullptr : rq.bias.data();
  static constexpr qgemm::OutputKind kKinds[] = {qgemm::OutputKind::kUint8,
                                                 qgemm::OutputKind::kInt32,
                                                 qgemm::OutputKind::kFloat};
  // Each output kind from the packed panel, and again reading A in place on
  // the tables that can.
  for (int run = 0; run < (in_place_too ? 6 : 3); ++run) {
    const qgemm::OutputKind kind = kKinds[run % 3];
    const bool in_place = run >= 3;
    const bool s32 = kind == qgemm::OutputKind::kInt32;
    const bool f32 = kind == qgemm::OutputKind::kFloat;
    const size_t elem = s32 || f32 ? 4 : 1;
    const size_t c_bytes = c.m_eff * ldc * elem;
    std::vector<uint8_t> got(c_bytes + kGuardBytes, kSentinel);
    std::vector<uint8_t> want(got);
    if (s32) {
      std::vector<int32_t> ref(c.m_eff * c.n_eff);
      RefGemmS32(c.m_eff, c.n_eff, k, a.data(), lda, za, b.data(), ldb,
                 c.nk != 0, zb, bias, ref.data(), c.n_eff);
      for (size_t i = 0; i < c.m_eff; ++i) {
        std::memcpy(&want[i * ldc * elem], &ref[i * c.n_eff], c.n_eff * elem);
      }
    } else if (f32) {
      std::vector<float> ref(c.m_eff * c.n_eff);
      RefGemmF32(c.m_eff, c.n_eff, k, a.data(), lda, za, b.data(), ldb,
                 c.nk != 0, zb, dq, ref.data(), c.n_eff);
      for (size_t i = 0; i < c.m_eff; ++i) {
        std::memcpy(&want[i * ldc * elem], &ref[i * c.n_eff], c.n_eff * elem);
      }
    } else {
      RefGemmRequant(c.m_eff, c.n_eff, k, a.data(), lda, za, b.data(), ldb,
                     c.nk != 0, zb, rq, want.data(), ldc);
    }
    qgemm::TileArgs args;
    args.k_padded = k_padded;
    args.a_panel =
        in_place ? static_cast<const void*>(a.data()) : a_panel.get();
    args.a_stride = in_place ? lda : 0;
    args.a_panel_step = in_place ? mr * lda : a_bytes;
    args.b_panel = b_panel.get();
    args.row_offset = row_offset.data();
    args.cols = {f32 ? col_offset_f.data() : col_offset.data(),
                 multiplier.data(),
                 left_shift.data(),
                 right_shift.data(),
                 scale.data(),
                 bias_f.data()};
    args.clamp = &clamp;
    args.c = got.data();
    args.ldc = ldc;
    args.m_eff = c.m_eff;
    args.n_eff = c.n_eff;
    // As the driver runs every task: between the table's thread hooks
    // (AMX configures its tiles there).
    if (t.thread_begin != nullptr) t.thread_begin();
    (s32 ? t.gemm_s32[v] : f32 ? t.gemm_f32[v] : t.gemm_u8[v])(&args);
    if (t.thread_end != nullptr) t.thread_end();

    const std::string kernel = std::string(s32   ? "gemm_s32"
                                           : f32 ? "gemm_f32"
                                                 : "gemm_u8") +
                               (in_place ? " (A in place)" : "");
    if (f32) {  // NaN against NaN passes whatever its bits
      for (size_t i = 0; i < c.m_eff; ++i) {
        for (size_t j = 0; j < c.n_eff; ++j) {
          float g, w;
          std::memcpy(&g, &got[(i * ldc + j) * elem], elem);
          std::memcpy(&w, &want[(i * ldc + j) * elem], elem);
          if (std::isnan(g) && std::isnan(w)) {
            std::memcpy(&want[(i * ldc + j) * elem], &g, elem);
          }
        }
      }
    }
    for (size_t x = 0; x < got.size(); ++x) {
      if (got[x] == want[x]) continue;
      if (x >= c_bytes) {
        err << kernel << " wrote into the guard after C at byte "
            << x - c_bytes;
        return err.str();
      }
      const size_t i = x / (ldc * elem), j = x % (ldc * elem) / elem;
      if (j >= c.n_eff) {
        err << kernel << " wrote into C's row padding at row " << i
            << " column " << j;
      } else if (f32) {
        float g, w;
        std::memcpy(&g, &got[(i * ldc + j) * elem], elem);
        std::memcpy(&w, &want[(i * ldc + j) * elem], elem);
        err << kernel << " C[" << i << "][" << j << "] = " << g << ", want "
            << w << " (scale " << scale[j] << " bias " << bias_f[j] << ")";
      } else if (s32) {
        int32_t g, w;
        std::memcpy(&g, &got[(i * ldc + j) * elem], elem);
        std::memcpy(&w, &want[(i * ldc + j) * elem], elem);
        err << kernel << " C[" << i << "][" << j << "] = " << g << ", want "
            << w;
      } else {
        err << kernel << " C[" << i << "][" << j << "] = " << int{got[x]}
            << ", want " << int{want[x]} << " (multiplier " << multiplier[j]
            << " shift " << rq.shift[j] << " za " << int{za} << " zb "
            << int{zb} << ")";
      }
      return err.str();
    }
  }
  return "";
}

class KernelSweepTest : public testing::TestWithParam<SweepParam> {};

TEST_P(KernelSweepTest, EveryTileShapeMatchesReference) {
  const SweepParam& p = GetParam();
  const std::string why = WhyNotRunnable(p.table);
  if (!why.empty()) GTEST_SKIP() << p.table.name << " cannot run here: " << why;
  const qgemm::KernelTable& t = *p.table.table;
  ASSERT_LT(p.variant, static_cast<uint32_t>(qgemm::kMaxKernelVariants));
  ASSERT_NE(t.gemm_u8[p.variant], nullptr);
  ASSERT_NE(t.gemm_s32[p.variant], nullptr);
  ASSERT_NE(t.gemm_f32[p.variant], nullptr);
  size_t cases = 0, failures = 0;
  Coverage covered;
  std::vector<bool> seen(size_t{t.mr} * t.nr * kLayouts, false);
  for (int nk = 0; nk < kLayouts; ++nk) {
    for (size_t m_eff = 1; m_eff <= t.mr; ++m_eff) {
      for (size_t n_eff = 1; n_eff <= t.nr; ++n_eff) {
        const TileCase c = {m_eff, n_eff, p.k, nk, p.variant, cases};
        seen[(static_cast<size_t>(nk) * t.mr + m_eff - 1) * t.nr + n_eff - 1] =
            true;
        ++cases;
        const std::string err = RunTile(t, c, &covered);
        EXPECT_EQ(err, "") << p.table.name << " " << Describe(c);
        if (!err.empty() && ++failures >= 5) {
          FAIL() << "stopping after 5 failing tile cases";
        }
      }
    }
  }
  EXPECT_EQ(cases, CasesPerTest(t));
  EXPECT_EQ(std::count(seen.begin(), seen.end(), true),
            static_cast<std::ptrdiff_t>(size_t{t.mr} * t.nr * kLayouts))
      << "not every (m_eff, n_eff, layout) of the tile was run";
  if (failures > 0) return;
  // The depth is the case's: every live row and column of every panel was
  // summed over exactly k entries by the packing functions.
  size_t live_rows = 0, live_cols = 0;
  for (size_t m_eff = 1; m_eff <= t.mr; ++m_eff) live_rows += m_eff * t.nr;
  for (size_t n_eff = 1; n_eff <= t.nr; ++n_eff) live_cols += n_eff * t.mr;
  EXPECT_EQ(covered.row_sums_checked, live_rows * kLayouts);
  EXPECT_EQ(covered.col_sums_checked, live_cols * kLayouts);
  // The variant is the one named: a faster variant's B was confirmed as
  // its by choose_variant in every case.
  if (p.variant != 0) {
    EXPECT_EQ(covered.variant_confirmed, cases);
  }
  // The output parameters varied as promised.
  EXPECT_EQ(covered.zero_points.size(), 9u) << "(za, zb) in {0, 128, 255}^2";
  EXPECT_EQ(covered.shifts.count(-31), 1u);
  EXPECT_EQ(covered.shifts.count(30), 1u);
  EXPECT_GT(covered.with_bias, 0u);
  EXPECT_GT(covered.without_bias, 0u);
  // A read in place: every case of a depth with no padding, on the tables
  // that can.
  const bool in_place = t.sum_a_rows != nullptr && p.k % t.kr == 0;
  EXPECT_EQ(covered.in_place_tiles, in_place ? cases : 0u);
  RecordProperty("sweep_cases", static_cast<int>(cases));
}

INSTANTIATE_TEST_SUITE_P(AllTables, KernelSweepTest,
                         testing::ValuesIn(AllSweepParams()), SweepName);

// Tables with tile_strips take several tiles down M in one call (AMX runs
// one tile's output stage under the next tile's products): strips whose
// tiles are all whole, whose last tile is short (the rows where a table
// may hand it to another kernel, and the rows around half a tile), against
// narrow and full columns, through the same checks as single tiles.
class KernelStripTest : public testing::TestWithParam<SweepParam> {};

TEST_P(KernelStripTest, StripsOfTilesMatchReference) {
  const SweepParam& p = GetParam();
  const qgemm::KernelTable& t = *p.table.table;
  ASSERT_TRUE(t.tile_strips);
  const std::string why = WhyNotRunnable(p.table);
  if (!why.empty()) GTEST_SKIP() << p.table.name << " cannot run here: " << why;
  const size_t mr = t.mr, nr = t.nr;
  const size_t strip_rows[] = {
      mr + 1, mr + 4,     mr + 5,     mr + mr / 2,
      2 * mr, 2 * mr + 3, 3 * mr - 1, 3 * mr + mr / 2 + 1};
  const size_t columns[] = {1, nr / 2, nr / 2 + 1, nr};
  size_t cases = 0, failures = 0;
  Coverage covered;
  for (int nk = 0; nk < kLayouts; ++nk) {
    for (size_t m_eff : strip_rows) {
      for (size_t n_eff : columns) {
        const TileCase c = {m_eff, n_eff, p.k, nk, p.variant, cases++};
        const std::string err = RunTile(t, c, &covered);
        EXPECT_EQ(err, "") << p.table.name << " " << Describe(c);
        if (!err.empty() && ++failures >= 5) {
          FAIL() << "stopping after 5 failing strip cases";
        }
      }
    }
  }
  size_t live_rows = 0;
  for (size_t m_eff : strip_rows) live_rows += m_eff * std::size(columns);
  EXPECT_EQ(covered.row_sums_checked, live_rows * kLayouts);
  RecordProperty("strip_cases", static_cast<int>(cases));
}

std::vector<SweepParam> StripParams() {
  std::vector<SweepParam> out;
  for (const SweepParam& p : AllSweepParams()) {
    if (p.table.table->tile_strips) out.push_back(p);
  }
  return out;
}

// None on builds without such a table (ARM).
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(KernelStripTest);
INSTANTIATE_TEST_SUITE_P(StripTables, KernelStripTest,
                         testing::ValuesIn(StripParams()), SweepName);

// The size of the sweep per table, for the logs: variants x depths x tile
// shapes x layouts, each case checking the three micro-kernels. Every table has
// the general variant 0, so none can drop out of the sweep unnoticed.
TEST(KernelSweepSummary, CasesPerTable) {
  for (const TableUnderTest& tu : TablesUnderTest()) {
    const qgemm::KernelTable& t = *tu.table;
    const size_t variants = Variants(t).size();
    const size_t depths = SweepDepths(t.kr).size();
    EXPECT_NE(t.gemm_u8[0], nullptr) << tu.name << " has no variant 0";
    EXPECT_NE(t.gemm_s32[0], nullptr) << tu.name << " has no variant 0";
    EXPECT_NE(t.gemm_f32[0], nullptr) << tu.name << " has no variant 0";
    const size_t cases = variants * depths * CasesPerTest(t);
    const std::string why = WhyNotRunnable(tu);
    std::cout << "[ sweep    ] " << tu.name << ": " << cases
              << " kernel-sweep cases (" << variants << " variant(s) x "
              << depths << " depths x " << t.mr << "x" << t.nr
              << " tile shapes x " << kLayouts << " layouts)"
              << (why.empty() ? "" : ", skipped here: " + why) << "\n";
    RecordProperty(tu.name + "_sweep_cases", static_cast<int>(cases));
  }
}

}  // namespace
}  // namespace qgemm_test

// The AVX-512 VNNI packed layout, checked byte by byte against the drawing
// in kernels/avx512vnni/gemm_8x32.inl, for every avx512vnni table that can
// run here (the SIMDe build everywhere with AVX2, the native one where the
// CPU has AVX-512 VNNI). And whole GEMMs whose matrices end right before an
// inaccessible page, on every table: the loads and stores at the M, N and K
// edges (masked or not) must not touch a byte outside the caller's
// matrices.
#include <gtest/gtest.h>
#include <qgemm/qgemm.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "dispatch/kernel_table.h"
#include "tests/reference.h"
#include "tests/tables_under_test.h"

namespace qgemm_test {
namespace {

std::vector<TableUnderTest> VnniTables() {
  std::vector<TableUnderTest> out;
  for (const TableUnderTest& t : TablesUnderTest()) {
    if (t.isa == "avx512vnni" && t.table != nullptr) out.push_back(t);
  }
  return out;
}

class Avx512VnniPackTest : public PerTableTest {};

constexpr uint8_t kUnwritten = 0xEE;

TEST_P(Avx512VnniPackTest, PackAMatchesTheDrawnLayout) {
  const qgemm::KernelTable& t = *GetParam().table;
  ASSERT_EQ(t.mr, 8u);
  ASSERT_EQ(t.kr, 4u);
  std::mt19937 rng(7);
  for (size_t k : {size_t{1}, size_t{2}, size_t{3}, size_t{4}, size_t{5},
                   size_t{13}, size_t{63}, size_t{64}, size_t{65}, size_t{127},
                   size_t{130}, size_t{200}}) {
    for (size_t m_eff : {size_t{1}, size_t{3}, size_t{7}, size_t{8}}) {
      const size_t lda = k + 3, k_padded = (k + 3) / 4 * 4;
      std::vector<uint8_t> a(m_eff * lda);
      for (auto& x : a) x = static_cast<uint8_t>(rng());
      std::vector<uint8_t> panel(t.a_panel_bytes(k_padded) + 64, kUnwritten);
      std::vector<int32_t> sums(t.mr, -1);
      t.pack_a_panel(0, k, m_eff, a.data(), lda, panel.data(), sums.data());
      for (size_t i = 0; i < t.mr; ++i) {
        int32_t want_sum = 0;
        for (size_t p = 0; p < k_padded; ++p) {
          const uint8_t want = (i < m_eff && p < k) ? a[i * lda + p] : 0;
          want_sum += (i < m_eff && p < k) ? a[i * lda + p] : 0;
          ASSERT_EQ(panel[32 * (p / 4) + 4 * i + p % 4], want)
              << "k=" << k << " m_eff=" << m_eff << " i=" << i << " p=" << p;
        }
        EXPECT_EQ(sums[i], want_sum) << "row " << i;
      }
      for (size_t x = t.a_panel_bytes(k_padded); x < panel.size(); ++x) {
        ASSERT_EQ(panel[x], kUnwritten) << "wrote past the panel";
      }
    }
  }
}

TEST_P(Avx512VnniPackTest, PackBMatchesTheDrawnLayout) {
  const qgemm::KernelTable& t = *GetParam().table;
  ASSERT_EQ(t.nr, 32u);
  std::mt19937 rng(11);
  for (int nk : {0, 1}) {
    for (size_t k :
         {size_t{1}, size_t{3}, size_t{4}, size_t{5}, size_t{9}, size_t{67}}) {
      for (size_t n_eff : {size_t{1}, size_t{15}, size_t{16}, size_t{17},
                           size_t{31}, size_t{32}}) {
        // bm[p][j] is the math B; stored k x n (KN) or n x k (NK).
        const size_t ld = (nk ? k : n_eff) + 2;
        std::vector<uint8_t> b((nk ? n_eff : k) * ld);
        for (auto& x : b) x = static_cast<uint8_t>(rng());
        auto bm = [&](size_t p, size_t j) {
          return nk ? b[j * ld + p] : b[p * ld + j];
        };
        const size_t k_padded = (k + 3) / 4 * 4;
        std::vector<uint8_t> panel(t.b_panel_bytes(k_padded) + 64, kUnwritten);
        std::vector<int32_t> sums(t.nr, -1);
        t.pack_b_panel(0, k, n_eff, b.data(), ld, nk, panel.data(),
                       sums.data());
        for (size_t j = 0; j < t.nr; ++j) {
          int32_t want_sum = 0;
          for (size_t p = 0; p < k_padded; ++p) {
            const bool real = j < n_eff && p < k;
            // Packed b' = b - 128 as int8 (b XOR 0x80); padding holds b = 0.
            const uint8_t want = real ? bm(p, j) ^ 0x80 : 0x80;
            want_sum += real ? bm(p, j) : 0;
            ASSERT_EQ(panel[128 * (p / 4) + 4 * j + p % 4], want)
                << (nk ? "NK" : "KN") << " k=" << k << " n_eff=" << n_eff
                << " j=" << j << " p=" << p;
          }
          EXPECT_EQ(sums[j], want_sum) << "column " << j;
        }
        for (size_t x = t.b_panel_bytes(k_padded); x < panel.size(); ++x) {
          ASSERT_EQ(panel[x], kUnwritten) << "wrote past the panel";
        }
      }
    }
  }
}

// Memory that ends exactly where an inaccessible page begins.
class GuardedBytes {
 public:
  explicit GuardedBytes(size_t size) : size_(size) {
    page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    const size_t data_pages = (size + page_ - 1) / page_ + 1;
    map_bytes_ = (data_pages + 1) * page_;
    void* m = mmap(nullptr, map_bytes_, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return;
    map_ = static_cast<uint8_t*>(m);
    uint8_t* guard = map_ + data_pages * page_;
    if (mprotect(guard, page_, PROT_NONE) != 0) return;
    data_ = guard - size_;
  }
  ~GuardedBytes() {
    if (map_ != nullptr) munmap(map_, map_bytes_);
  }
  GuardedBytes(const GuardedBytes&) = delete;
  GuardedBytes& operator=(const GuardedBytes&) = delete;
  uint8_t* data() { return data_; }

 private:
  size_t size_, page_ = 0, map_bytes_ = 0;
  uint8_t* map_ = nullptr;
  uint8_t* data_ = nullptr;
};

std::vector<TableUnderTest> AllTables() {
  std::vector<TableUnderTest> out;
  for (const TableUnderTest& t : TablesUnderTest()) {
    if (t.table != nullptr) out.push_back(t);
  }
  return out;
}

class GuardedEdgesTest : public Avx512VnniPackTest {};

// A, B and C each end right before a PROT_NONE page (a read or write past
// the last element faults); m, n, k leave partial tiles in every direction
// and the leading dimensions equal the row lengths, so the last row is
// short of any vector width. Results are checked against the reference.
TEST_P(GuardedEdgesTest, NeverTouchMemoryPastTheMatrices) {
  for (const auto& shape :
       {std::vector<size_t>{9, 17, 5}, std::vector<size_t>{1, 33, 7},
        std::vector<size_t>{3, 1, 1}, std::vector<size_t>{15, 47, 66},
        std::vector<size_t>{6, 16, 64}, std::vector<size_t>{12, 32, 96}}) {
    const size_t m = shape[0], n = shape[1], k = shape[2];
    for (int call = 0; call < 3; ++call) {  // requant, s32, packed NK s32
      const bool s32 = call != 0, nk = call == 2;
      GuardedBytes a(m * k), b(k * n), c(m * n * (s32 ? 4 : 1));
      ASSERT_NE(a.data(), nullptr);
      ASSERT_NE(b.data(), nullptr);
      ASSERT_NE(c.data(), nullptr);
      std::mt19937 rng(static_cast<uint32_t>(m * 1000 + n * 10 + k));
      for (size_t x = 0; x < m * k; ++x) {
        a.data()[x] = static_cast<uint8_t>(rng());
      }
      for (size_t x = 0; x < k * n; ++x) {
        b.data()[x] = static_cast<uint8_t>(rng());
      }
      const uint8_t za = 7, zb = 200;
      const int32_t mult = 1 << 30, shift = -6;
      RefRequantParams ref_rq;
      ref_rq.multiplier = {mult};
      ref_rq.shift = {shift};
      ref_rq.c_zero_point = 128;
      std::vector<int32_t> want32(m * n);
      std::vector<uint8_t> want8(m * n);
      RefGemmS32(m, n, k, a.data(), k, za, b.data(), nk ? k : n, nk, zb,
                 nullptr, want32.data(), n);
      RefGemmRequant(m, n, k, a.data(), k, za, b.data(), n, false, zb, ref_rq,
                     want8.data(), n);
      qgemm_context* ctx = nullptr;
      ASSERT_EQ(qgemm_context_create(1, &ctx), QGEMM_OK);
      ASSERT_EQ(UseTable(ctx, GetParam()), "");
      qgemm_status st;
      auto* c32 = static_cast<int32_t*>(static_cast<void*>(c.data()));
      if (call == 0) {
        qgemm_requant rq = {nullptr, &mult, &shift, 0, 128, 0, 255};
        st = qgemm_u8u8_requant(ctx, m, n, k, a.data(), k, za, b.data(), n, zb,
                                &rq, c.data(), n);
      } else if (call == 1) {
        st = qgemm_u8u8_s32(ctx, m, n, k, a.data(), k, za, b.data(), n, zb,
                            nullptr, c32, n);
      } else {
        qgemm_packed_b* packed = nullptr;
        st = qgemm_pack_b(ctx, k, n, b.data(), k, QGEMM_LAYOUT_NK, zb, &packed);
        if (st == QGEMM_OK) {
          st = qgemm_u8u8_s32_packed(ctx, m, a.data(), k, za, packed, nullptr,
                                     c32, n);
        }
        qgemm_packed_b_destroy(packed);
      }
      qgemm_context_destroy(ctx);
      ASSERT_EQ(st, QGEMM_OK) << qgemm_last_error();
      if (s32) {
        std::vector<int32_t> got(m * n);
        std::memcpy(got.data(), c.data(), 4 * m * n);
        EXPECT_EQ(got, want32) << m << "x" << n << "x" << k << " call " << call;
      } else {
        const std::vector<uint8_t> got(c.data(), c.data() + m * n);
        EXPECT_EQ(got, want8) << m << "x" << n << "x" << k;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Avx512Vnni, Avx512VnniPackTest,
                         testing::ValuesIn(VnniTables()), TableParamName);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(Avx512VnniPackTest);
INSTANTIATE_TEST_SUITE_P(AllTables, GuardedEdgesTest,
                         testing::ValuesIn(AllTables()), TableParamName);

}  // namespace
}  // namespace qgemm_test

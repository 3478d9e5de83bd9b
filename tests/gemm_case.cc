#include "gemm_case.h"

#include <algorithm>
#include <array>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "reference.h"

namespace qgemm_test {
namespace {

constexpr uint8_t kSentinel = 0xA5;
constexpr size_t kGuardBytes = 256;

void Fill(std::vector<uint8_t>& v, Data d, std::mt19937& rng, bool is_b) {
  std::uniform_int_distribution<int> byte(0, 255);
  switch (d) {
    case Data::kRandom:
    case Data::kPairEdgeB:
    case Data::kPairLimitB:
      for (auto& x : v) x = static_cast<uint8_t>(byte(rng));
      break;
    case Data::kExtremes:
      for (auto& x : v) x = (byte(rng) & 1) ? 255 : 0;
      break;
    case Data::kMax:
      for (auto& x : v) x = is_b ? 0 : 255;
      break;
    case Data::kNarrowB: {
      std::uniform_int_distribution<int> near(64, 192);
      for (auto& x : v) x = static_cast<uint8_t>(near(rng));
      break;
    }
  }
}

}  // namespace

std::vector<uint8_t> MakeB(Data d, size_t k, size_t n, bool nk,
                           std::mt19937& rng) {
  std::vector<uint8_t> v(k * n);
  Fill(v, d, rng, true);
  if (d != Data::kPairEdgeB && d != Data::kPairLimitB) return v;
  // Depth pairs (kk, kk+1), kk even, of one column: the pairs a u8 x s8
  // kernel sums. |b0-128| + |b1-128| lands on 127 or 128 (kPairLimitB: the
  // largest sums where vpmaddubsw is still exact), or also 129 (kPairEdgeB:
  // just past it).
  const int top = d == Data::kPairLimitB ? 128 : 129;
  std::uniform_int_distribution<int> sum(127, top);
  std::uniform_int_distribution<int> pick(0, 128);
  const auto at = [&](size_t kk, size_t j) -> uint8_t& {
    return v[nk ? j * k + kk : kk * n + j];
  };
  for (size_t j = 0; j < n; ++j) {
    for (size_t kk = 0; kk + 1 < k; kk += 2) {
      const int s = sum(rng);
      int d0 = pick(rng) % (s + 1);
      int d1 = s - d0;
      // b - 128 spans [-128, 127]: +128 needs the sign minus.
      const int sign0 = (d0 == 128 || (rng() & 1)) ? -1 : 1;
      const int sign1 = (d1 == 128 || (rng() & 1)) ? -1 : 1;
      if (d0 > 128) d0 = 128;
      if (d1 > 128) d1 = 128;
      at(kk, j) = static_cast<uint8_t>(128 + sign0 * d0);
      at(kk + 1, j) = static_cast<uint8_t>(128 + sign1 * d1);
    }
  }
  return v;
}

std::string GemmCase::Name() const {
  std::ostringstream s;
  s << m << "x" << n << "x" << k << "_pad" << lda_pad << "." << ldb_pad << "."
    << ldc_pad << "_z" << int{za} << "." << int{zb} << "_M" << multiplier
    << "_s" << shift << (per_channel ? "_pc" : "") << "_zc" << c_zero_point
    << "_c" << int{c_min} << "-" << int{c_max} << "_d"
    << static_cast<int>(a_data) << static_cast<int>(b_data) << "_sc"
    << static_cast<int>(scales) << "_seed" << seed;
  return s.str();
}

std::string RunCase(qgemm_context* ctx, const GemmCase& gc, Call call) {
  std::mt19937 rng(gc.seed);
  const bool nk = call == Call::kPackedNK || call == Call::kPackedS32;
  const size_t lda = gc.k + gc.lda_pad;
  const size_t b_rows = nk ? gc.n : gc.k, b_cols = nk ? gc.k : gc.n;
  const size_t ldb = b_cols + gc.ldb_pad;
  const size_t ldc = gc.n + gc.ldc_pad;

  // Matrices with sentinel padding; data written into the live part only.
  std::vector<uint8_t> a(std::max<size_t>(1, gc.m * lda), kSentinel);
  std::vector<uint8_t> b(std::max<size_t>(1, b_rows * ldb), kSentinel);
  {
    std::vector<uint8_t> live(gc.m * gc.k);
    Fill(live, gc.a_data, rng, false);
    for (size_t i = 0; i < gc.m; ++i) {
      std::memcpy(&a[i * lda], &live[i * gc.k], gc.k);
    }
    const std::vector<uint8_t> liveb = MakeB(gc.b_data, gc.k, gc.n, nk, rng);
    for (size_t r = 0; r < b_rows; ++r) {
      std::memcpy(&b[r * ldb], &liveb[r * b_cols], b_cols);
    }
  }
  RefRequantParams rq;
  rq.per_channel = gc.per_channel;
  rq.c_zero_point = gc.c_zero_point;
  rq.c_min = gc.c_min;
  rq.c_max = gc.c_max;
  const size_t q = gc.per_channel ? gc.n : 1;
  rq.multiplier.assign(q, gc.multiplier);
  rq.shift.assign(q, gc.shift);
  if (gc.per_channel) {
    std::uniform_int_distribution<int32_t> mult(1 << 30, INT32_MAX);
    std::uniform_int_distribution<int32_t> sh(-20, 4);
    for (size_t j = 0; j < gc.n; ++j) {
      if (j % 3 == 1) rq.multiplier[j] = mult(rng);
      if (j % 4 == 2) rq.shift[j] = sh(rng);
    }
  }
  if (gc.bias) {
    std::uniform_int_distribution<int32_t> bd(-gc.bias_scale, gc.bias_scale);
    rq.bias.resize(gc.n);
    for (auto& x : rq.bias) x = bd(rng);
  }
  const int32_t* bias = rq.bias.empty() ? nullptr : rq.bias.data();
  // Float parameters, drawn after everything else so that the other calls'
  // data stay as they were.
  RefDequantParams dq;
  dq.a_scale = gc.a_scale;
  dq.per_channel = gc.per_channel;
  dq.b_scale.assign(q, gc.b_scale);
  {
    std::uniform_real_distribution<float> factor(0.25f, 4.0f);
    static constexpr float kMixed[] = {FLT_MIN, FLT_MAX, 1.0f, 3.0e-30f,
                                       1.0e30f, 0.5f,    7.25f};
    for (size_t j = 0; j < q; ++j) {
      switch (gc.scales) {
        case Scales::kTypical:
          if (gc.per_channel) dq.b_scale[j] = gc.b_scale * factor(rng);
          break;
        case Scales::kTiny:
          dq.a_scale = FLT_MIN;
          dq.b_scale[j] =
              j % 3 == 0 ? FLT_MIN : 0.5f / static_cast<float>(j + 1);
          break;
        case Scales::kOverflow:
          dq.a_scale = FLT_MAX / 2;
          dq.b_scale[j] = j % 2 == 0 ? FLT_MAX : 2.5f;
          break;
        case Scales::kMixed:
          dq.b_scale[j] = kMixed[j % std::size(kMixed)];
          break;
      }
    }
    if (gc.bias) {
      // A unit draw times the scale: the distribution's width 2 * FLT_MAX
      // would overflow.
      std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
      dq.bias.resize(gc.n);
      for (auto& x : dq.bias) x = gc.bias_f_scale * unit(rng);
    }
  }

  const bool s32 = call == Call::kS32 || call == Call::kPackedS32;
  const bool f32 = call == Call::kF32 || call == Call::kPackedF32;
  const bool wide = s32 || f32;  // 4-byte elements
  const size_t elem = wide ? 4 : 1;
  const size_t c_bytes = gc.m * ldc * elem;
  std::vector<uint8_t> c(c_bytes + kGuardBytes, kSentinel);
  std::vector<uint8_t> want(c.size(), kSentinel);
  if (s32) {
    std::vector<int32_t> ref(std::max<size_t>(1, gc.m * gc.n));
    RefGemmS32(gc.m, gc.n, gc.k, a.data(), lda, gc.za, b.data(), ldb, nk, gc.zb,
               bias, ref.data(), gc.n);
    for (size_t i = 0; i < gc.m; ++i) {
      std::memcpy(&want[i * ldc * 4], &ref[i * gc.n], gc.n * 4);
    }
  } else if (f32) {
    std::vector<float> ref(std::max<size_t>(1, gc.m * gc.n));
    RefGemmF32(gc.m, gc.n, gc.k, a.data(), lda, gc.za, b.data(), ldb, nk, gc.zb,
               dq, ref.data(), gc.n);
    for (size_t i = 0; i < gc.m; ++i) {
      std::memcpy(&want[i * ldc * 4], &ref[i * gc.n], gc.n * 4);
    }
  } else {
    std::vector<uint8_t> ref(std::max<size_t>(1, gc.m * gc.n));
    RefGemmRequant(gc.m, gc.n, gc.k, a.data(), lda, gc.za, b.data(), ldb, nk,
                   gc.zb, rq, ref.data(), gc.n);
    for (size_t i = 0; i < gc.m; ++i) {
      std::memcpy(&want[i * ldc], &ref[i * gc.n], gc.n);
    }
  }

  qgemm_requant r;
  r.bias = bias;
  r.multiplier = rq.multiplier.data();
  r.shift = rq.shift.data();
  r.per_channel = gc.per_channel ? 1 : 0;
  r.c_zero_point = gc.c_zero_point;
  r.c_min = gc.c_min;
  r.c_max = gc.c_max;
  qgemm_dequant d;
  d.a_scale = dq.a_scale;
  d.b_scale = dq.b_scale.data();
  d.per_channel = gc.per_channel ? 1 : 0;
  d.bias = dq.bias.empty() ? nullptr : dq.bias.data();
  auto* c_float = static_cast<float*>(static_cast<void*>(c.data()));
  const std::vector<uint8_t> a_before = a, b_before = b;

  qgemm_status st = QGEMM_OK;
  qgemm_packed_b* packed = nullptr;
  switch (call) {
    case Call::kRequant:
      st = qgemm_u8u8_requant(ctx, gc.m, gc.n, gc.k, a.data(), lda, gc.za,
                              b.data(), ldb, gc.zb, &r, c.data(), ldc);
      break;
    case Call::kS32:
      st = qgemm_u8u8_s32(
          ctx, gc.m, gc.n, gc.k, a.data(), lda, gc.za, b.data(), ldb, gc.zb,
          bias, static_cast<int32_t*>(static_cast<void*>(c.data())), ldc);
      break;
    case Call::kF32:
      st = qgemm_u8u8_f32(ctx, gc.m, gc.n, gc.k, a.data(), lda, gc.za, b.data(),
                          ldb, gc.zb, &d, c_float, ldc);
      break;
    case Call::kPackedKN:
    case Call::kPackedNK:
    case Call::kPackedS32:
    case Call::kPackedF32:
      st = qgemm_pack_b(ctx, gc.k, gc.n, b.data(), ldb,
                        nk ? QGEMM_LAYOUT_NK : QGEMM_LAYOUT_KN, gc.zb, &packed);
      if (st != QGEMM_OK) break;
      if (call == Call::kPackedS32) {
        st = qgemm_u8u8_s32_packed(
            ctx, gc.m, a.data(), lda, gc.za, packed, bias,
            static_cast<int32_t*>(static_cast<void*>(c.data())), ldc);
      } else if (call == Call::kPackedF32) {
        st = qgemm_u8u8_f32_packed(ctx, gc.m, a.data(), lda, gc.za, packed, &d,
                                   c_float, ldc);
      } else {
        st = qgemm_u8u8_requant_packed(ctx, gc.m, a.data(), lda, gc.za, packed,
                                       &r, c.data(), ldc);
      }
      break;
  }
  qgemm_packed_b_destroy(packed);
  std::ostringstream err;
  if (st != QGEMM_OK) {
    err << "status " << qgemm_status_string(st) << ": " << qgemm_last_error();
    return err.str();
  }
  if (a != a_before || b != b_before) return "an input matrix was modified";
  if (f32) {
    // NaN against NaN passes whatever its bits (reference.h, SameFloat).
    for (size_t i = 0; i < gc.m; ++i) {
      for (size_t j = 0; j < gc.n; ++j) {
        float got, exp;
        std::memcpy(&got, &c[(i * ldc + j) * 4], 4);
        std::memcpy(&exp, &want[(i * ldc + j) * 4], 4);
        if (std::isnan(got) && std::isnan(exp)) {
          std::memcpy(&want[(i * ldc + j) * 4], &got, 4);
        }
      }
    }
  }
  for (size_t x = 0; x < c.size(); ++x) {
    if (c[x] == want[x]) continue;
    if (x >= c_bytes) {
      err << "wrote into the guard region after C at byte " << x - c_bytes;
    } else {
      const size_t i = x / (ldc * elem), col = x % (ldc * elem) / elem;
      if (col >= gc.n) {
        err << "wrote into the row padding of C at row " << i << " col " << col;
      } else if (f32) {
        float got, exp;
        std::memcpy(&got, &c[(i * ldc + col) * 4], 4);
        std::memcpy(&exp, &want[(i * ldc + col) * 4], 4);
        char text[96];
        std::snprintf(text, sizeof text, "%a, want %a",
                      static_cast<double>(got), static_cast<double>(exp));
        err << "C[" << i << "][" << col << "] = " << text;
      } else if (s32) {
        int32_t got, exp;
        std::memcpy(&got, &c[(i * ldc + col) * 4], 4);
        std::memcpy(&exp, &want[(i * ldc + col) * 4], 4);
        err << "C[" << i << "][" << col << "] = " << got << ", want " << exp;
      } else {
        err << "C[" << i << "][" << col << "] = " << int{c[x]} << ", want "
            << int{want[x]};
      }
    }
    return err.str();
  }
  return "";
}

std::vector<GemmCase> AdversarialCases(size_t mr, size_t nr, size_t kr) {
  std::vector<GemmCase> cases;
  uint32_t seed = 100;
  auto add = [&](GemmCase c) {
    c.seed = seed++;
    cases.push_back(c);
  };
  // Shapes around the tile: 1, tile-1, tile, tile+1, 2 tiles + 1, primes.
  const size_t ms[] = {1, mr - 1 ? mr - 1 : 1, mr, mr + 1, 2 * mr + 1, 13};
  const size_t ns[] = {1, nr - 1 ? nr - 1 : 1, nr, nr + 1, 2 * nr + 3, 31};
  const size_t ks[] = {1, kr, kr + 1, 2 * kr + 3, 17, 64, 127};
  for (size_t m : ms) {
    for (size_t n : ns) {
      GemmCase c;
      c.m = m;
      c.n = n;
      c.k = ks[(m + n) % 7];
      c.lda_pad = (m + n) % 3;
      c.ldb_pad = (m * n) % 5;
      c.ldc_pad = (m + 2 * n) % 4;
      c.za = static_cast<uint8_t>(m * 37 + n);
      c.zb = static_cast<uint8_t>(n * 53 + m);
      c.shift = -6 - static_cast<int32_t>((m + n) % 6);
      add(c);
    }
  }
  for (size_t k : ks) {
    GemmCase c;
    c.m = mr + 1;
    c.n = nr + 1;
    c.k = k;
    c.za = 3;
    c.zb = 250;
    c.shift = -7;
    add(c);
  }
  // Zero points at the extremes, with extreme data.
  const uint8_t zps[] = {0, 1, 127, 128, 254, 255};
  for (uint8_t za : zps) {
    for (uint8_t zb : zps) {
      GemmCase c;
      c.m = mr + 2;
      c.n = nr + 2;
      c.k = 33;
      c.za = za;
      c.zb = zb;
      c.a_data = (za + zb) % 2 ? Data::kExtremes : Data::kRandom;
      c.b_data = (za / 2 + zb) % 2 ? Data::kExtremes : Data::kRandom;
      c.shift = -10;
      add(c);
    }
  }
  // Largest |acc|: A all 255 against B all 0 with zb = 255 gives
  // -255*255*k; k = 33025 is the largest K whose sums always fit int32.
  for (size_t k : {size_t{33025}, size_t{4097}}) {
    GemmCase c;
    c.m = 3;
    c.n = nr + 1;
    c.k = k;
    c.za = 0;
    c.zb = 255;
    c.a_data = Data::kMax;
    c.b_data = Data::kMax;
    c.bias = false;
    c.shift = -20;
    add(c);
    c.a_data = Data::kExtremes;
    c.b_data = Data::kExtremes;
    c.za = 128;
    c.zb = 0;
    add(c);
  }
  // Beyond 33025 the true sum can leave int32: it wraps, the same on every
  // ISA. Saturated multiplies and shifts make such wrap visible.
  {
    GemmCase c;
    c.m = 2;
    c.n = nr;
    c.k = 40000;
    c.za = 0;
    c.zb = 255;
    c.a_data = Data::kMax;
    c.b_data = Data::kMax;
    c.bias = false;
    c.shift = -20;
    add(c);
  }
  // Multiplier and shift extremes.
  const int32_t mults[] = {0, 1, 1 << 30, INT32_MAX, (1 << 30) + 12345};
  const int32_t shifts[] = {-31, -30, -16, -1, 0, 1, 8, 30};
  for (int32_t mult : mults) {
    for (int32_t shift : shifts) {
      GemmCase c;
      c.m = mr + 1;
      c.n = nr + 1;
      c.k = 9;
      c.za = 17;
      c.zb = 200;
      c.multiplier = mult;
      c.shift = shift;
      c.bias_scale = shift > 0 ? 1 << 6 : INT32_MAX / 4;
      add(c);
    }
  }
  // Bias extremes (the accumulator wraps through them) and no bias.
  for (int32_t bs : {INT32_MAX, 0}) {
    GemmCase c;
    c.m = mr;
    c.n = nr + 3;
    c.k = 21;
    c.bias = bs != 0;
    c.bias_scale = bs;
    c.za = 100;
    c.zb = 7;
    c.shift = -24;
    add(c);
  }
  // Narrow and degenerate clamps, output zero points at the ends.
  const struct {
    int32_t zc;
    uint8_t lo, hi;
  } clamps[] = {{0, 0, 255}, {255, 0, 255},   {128, 100, 110}, {128, 77, 77},
                {0, 0, 0},   {255, 255, 255}, {3, 250, 255}};
  for (const auto& cl : clamps) {
    GemmCase c;
    c.m = mr + 1;
    c.n = 2 * nr - 1;
    c.k = 40;
    c.za = 128;
    c.zb = 128;
    c.c_zero_point = cl.zc;
    c.c_min = cl.lo;
    c.c_max = cl.hi;
    c.shift = -9;
    add(c);
  }
  // Per channel, with and without bias.
  for (bool bias : {true, false}) {
    GemmCase c;
    c.m = 2 * mr + 1;
    c.n = 3 * nr + 1;
    c.k = 50;
    c.per_channel = true;
    c.bias = bias;
    c.za = 90;
    c.zb = 140;
    c.shift = -12;
    add(c);
  }
  // Weight ranges on both sides of any narrow fast path.
  for (Data d : {Data::kNarrowB, Data::kPairEdgeB, Data::kPairLimitB}) {
    for (uint8_t zb : {uint8_t{128}, uint8_t{0}, uint8_t{255}}) {
      GemmCase c;
      c.m = mr + 3;
      c.n = 2 * nr + 1;
      c.k = 96 + kr + 1;
      c.b_data = d;
      c.za = 255;
      c.zb = zb;
      c.a_data = Data::kExtremes;
      c.shift = -13;
      add(c);
    }
  }
  // Float output scales at the ends of what the API allows: products that
  // fall to subnormals or 0, products that overflow to inf (k = 1 with
  // za = 255 and extreme A: many acc are 0, so 0 * inf gives NaN), and
  // mixed per-channel scales; biases near FLT_MAX that the fma overflows.
  for (Scales sc : {Scales::kTiny, Scales::kOverflow, Scales::kMixed}) {
    for (bool per_channel : {false, true}) {
      for (size_t k : {size_t{1}, size_t{37}}) {
        GemmCase c;
        c.m = mr + 1;
        c.n = 2 * nr + 1;
        c.k = k;
        c.za = 255;
        c.zb = 0;
        c.a_data = Data::kExtremes;
        c.per_channel = per_channel;
        c.scales = sc;
        c.bias = k == 1;
        c.bias_f_scale = sc == Scales::kTiny ? 1e-37f : FLT_MAX;
        add(c);
      }
    }
  }

  // Bigger random problems: several blocks in M and N.
  for (const auto& s :
       {std::array<size_t, 3>{67, 129, 300}, std::array<size_t, 3>{300, 45, 77},
        std::array<size_t, 3>{1, 1000, 257},
        std::array<size_t, 3>{200, 200, 1}}) {
    GemmCase c;
    c.m = s[0];
    c.n = s[1];
    c.k = s[2];
    c.lda_pad = 5;
    c.ldb_pad = 3;
    c.ldc_pad = 1;
    c.za = 113;
    c.zb = 131;
    c.shift = -11;
    add(c);
  }
  return cases;
}

}  // namespace qgemm_test

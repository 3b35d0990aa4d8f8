// Host checks of bitmm: the CPU op on every kernel family against an exact integer reference
// (run_cpu, per ISA: the NEON kernel runs it under qemu, scripts/neon-check.sh), and, for machines
// without a GPU, the CUDA kernels' index math (native/ops/bitmm/bitmm_cuda_layout.h): the .b1
// m16n8k256 fragment formulas against the PTX ISA tables written out independently below, and host
// emulations of both tiers -- every CTA, warp and lane, the MMA executed from the fragments as the
// tables define it -- against the CPU op, on odd shapes, every format pair. Included by selftest.cc.
#pragma once
#include <cmath>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "../ops/bitmm/bitmm.h"
#include "../ops/bitmm/bitmm_cuda_layout.h"
#include "test_views.h"

namespace bitmm_cuda_checks {

namespace L = tk::cubitmm;
using gemm_cuda_checks::Ctx;
using tk_test::absent;
using tk_test::view;

struct Operand {
  int64_t rows, K, W;
  int bits, format;
  std::vector<int32_t> v;        // values [rows, K]
  std::vector<uint64_t> planes;  // [rows, bits, W]
};

Operand make_operand(std::mt19937& rng, int64_t rows, int64_t K, int bits, int format) {
  Operand o{rows, K, (K + 63) / 64, bits, format, {}, {}};
  o.v.resize(size_t(rows * K));
  o.planes.assign(size_t(rows * bits * o.W), 0);
  std::uniform_int_distribution<int> code(0, (1 << bits) - 1);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < K; ++k) {
      const int c = code(rng);
      int32_t v = 0;
      for (int i = 0; i < bits; ++i) {
        const int bit = (c >> i) & 1;
        if (bit) o.planes[size_t((r * bits + i) * o.W + k / 64)] |= uint64_t(1) << (k % 64);
        if (format == 2)
          v += (2 * bit - 1) * (1 << i);
        else if (format == 0 && i == bits - 1)
          v -= bit << i;
        else
          v += bit << i;
      }
      o.v[size_t(r * K + k)] = v;
    }
  return o;
}

// The integer form's params: a [M, ba, W] and b [N, bb, W] planes, int32 out [M, N], no scales, bias or c.
tk::BitmmParams int_params(Operand& a, Operand& b, int64_t M, int64_t N, int64_t K, int ba, int fa, int bb, int fb, int32_t* out) {
  tk::BitmmParams p;
  p.a_scales = p.b_scales = p.bias = p.c = absent();
  p.a = view(a.planes.data(), tk::DType::kInt64, {M, ba, a.W});
  p.b = view(b.planes.data(), tk::DType::kInt64, {N, bb, b.W});
  p.a_format = fa;
  p.b_format = fb;
  p.K = K;
  p.out = view(out, tk::DType::kInt32, {M, N});
  return p;
}

// The CPU op, integer form (+ c), and the float form with scales on one side.
void check_cpu_case(Ctx& c, std::mt19937& rng, const char* isa, int64_t M, int64_t N, int64_t K, int ba, int fa, int bb, int fb) {
  Operand a = make_operand(rng, M, K, ba, fa), b = make_operand(rng, N, K, bb, fb);
  std::vector<int32_t> out(size_t(M * N), 0x5a5a5a5a), cc(size_t(M * N));
  for (auto& x : cc) x = int32_t(rng() % 2001) - 1000;
  tk::BitmmParams p = int_params(a, b, M, N, K, ba, fa, bb, fb, out.data());
  p.c = view(cc.data(), tk::DType::kInt32, {M, N});
  p.beta = 1.0f;
  const tk::Status st = tk::bitmm(p);
  const std::string what = std::string("bitmm cpu ") + isa + " a" + std::to_string(ba) + "f" + std::to_string(fa) + " b" +
                           std::to_string(bb) + "f" + std::to_string(fb) + " [" + std::to_string(M) + ", " + std::to_string(N) + ", " +
                           std::to_string(K) + "]";
  c.expect(st.ok(), what + ": " + st.message());
  bool ok = true;
  for (int64_t m = 0; m < M && ok; ++m)
    for (int64_t n = 0; n < N && ok; ++n) {
      int64_t y = 0;
      for (int64_t k = 0; k < K; ++k) y += int64_t(a.v[size_t(m * K + k)]) * b.v[size_t(n * K + k)];
      ok = out[size_t(m * N + n)] == int32_t(y + cc[size_t(m * N + n)]);
    }
  c.expect(ok, what + ": exact");
}

// Both CPU routes: "auto" (several planes a side that fit int8 go to the int8 gemm kernels) and
// "planes" (the plane-pair kernels for every width).
void run_cpu(Ctx c, std::mt19937& rng, const char* isa) {
  const int fm[][4] = {{1, 0, 1, 0}, {1, 2, 1, 2}, {2, 0, 2, 0}, {3, 1, 5, 0}, {8, 0, 8, 0}, {2, 2, 3, 1}, {4, 0, 1, 2}, {7, 2, 2, 0}};
  for (const char* route : {"auto", "planes"}) {
    c.expect(tk::bitmm_cpu_set_path(route), std::string("bitmm cpu route ") + route);
    for (const auto& f : fm)
      for (const int64_t K : {1, 64, 129, 700}) check_cpu_case(c, rng, isa, 7, 9, K, f[0], f[1], f[2], f[3]);
    check_cpu_case(c, rng, isa, 33, 70, 1100, 2, 0, 2, 0);
  }
  tk::bitmm_cpu_set_path("auto");
}

// --- the CUDA side ---------------------------------------------------------------------------------

// The PTX ISA's m16n8k256 .b1 tables, written out independently of the layout header: element e of
// a lane's A fragment (4 registers x 32), of its B fragment (2 x 32), register r of C.
struct RC {
  int row, col;
};
RC ptx_a(int lane, int e) { return {(lane >> 2) + 8 * ((e >> 5) & 1), 32 * (lane & 3) + (e & 31) + ((e >> 6) ? 128 : 0)}; }
RC ptx_b(int lane, int e) { return {32 * (lane & 3) + (e & 31) + ((e >> 5) ? 128 : 0), lane >> 2}; }  // (k, n)
RC ptx_c(int lane, int r) { return {(lane >> 2) + 8 * (r >> 1), 2 * (lane & 3) + (r & 1)}; }

void check_b1_fragments(Ctx& c) {
  bool match = true;
  std::set<int> a_once, b_once, c_once;
  for (int lane = 0; lane < 32; ++lane) {
    for (int e = 0; e < 128; ++e) {
      const RC t = ptx_a(lane, e);
      match = match && L::a_row(lane, e >> 5) == t.row && 32 * L::a_word(lane, e >> 5) + (e & 31) == t.col;
      a_once.insert(t.row * 256 + t.col);
    }
    for (int e = 0; e < 64; ++e) {
      const RC t = ptx_b(lane, e);
      match = match && L::b_row(lane) == t.col && 32 * L::b_word(lane, e >> 5) + (e & 31) == t.row;
      b_once.insert(t.row * 8 + t.col);
    }
    for (int r = 0; r < 4; ++r) {
      const RC t = ptx_c(lane, r);
      match = match && L::c_row(lane, r) == t.row && L::c_col(lane, r) == t.col;
      c_once.insert(t.row * 8 + t.col);
    }
  }
  c.expect(match, "bitmm cuda: .b1 m16n8k256 fragments match the PTX tables");
  c.expect(a_once.size() == 16 * 256 && b_once.size() == 256 * 8 && c_once.size() == 16 * 8,
           "bitmm cuda: fragments own every element once");
}

// mma.m16n8k256.row.col.s32.b1.b1.s32.and.popc executed from the 32 lanes' fragments, as the tables
// define the matrices: D[m][n] += sum_k A[m][k] AND B[k][n].
void emulate_mma(uint32_t d[32][4], const uint32_t a[32][4], const uint32_t bf[32][2]) {
  uint8_t A[16][256], B[256][8];
  for (int lane = 0; lane < 32; ++lane) {
    for (int e = 0; e < 128; ++e) {
      const RC t = ptx_a(lane, e);
      A[t.row][t.col] = (a[lane][e >> 5] >> (e & 31)) & 1;
    }
    for (int e = 0; e < 64; ++e) {
      const RC t = ptx_b(lane, e);
      B[t.row][t.col] = (bf[lane][e >> 5] >> (e & 31)) & 1;
    }
  }
  for (int lane = 0; lane < 32; ++lane)
    for (int r = 0; r < 4; ++r) {
      const RC t = ptx_c(lane, r);
      uint32_t s = 0;
      for (int k = 0; k < 256; ++k) s += A[t.row][k] & B[k][t.col];
      d[lane][r] += s;
    }
}

struct HostArgs {
  const uint32_t *a, *b;
  int64_t M, N, W2;
  int ba, bb, fa, fb;
  L::YTerms t;
  std::vector<uint32_t> ca, cb;
};

uint32_t host_count(const uint32_t* planes, int64_t r, int bits, int format, int64_t W2) {
  uint32_t s = 0;
  for (int i = 0; i < bits; ++i) {
    uint32_t cnt = 0;
    for (int64_t w = 0; w < W2; ++w) cnt += uint32_t(__builtin_popcount(planes[(r * bits + i) * W2 + w]));
    s += uint32_t(L::plane_weight(format, bits, i)) * cnt;
  }
  return s;
}

int32_t host_y(const HostArgs& g, int64_t m, int64_t n, uint32_t S) {
  return L::bitmm_y(g.t, S, g.t.ca ? g.ca[size_t(m)] : 0u, g.t.cb ? g.cb[size_t(n)] : 0u);
}

// tc_kernel's grid on the host: every CTA, warp, lane, k step and plane pair, as the kernel loads.
void emulate_tc(const HostArgs& g, std::vector<int32_t>& out) {
  const int64_t gx = (g.N + L::kBN - 1) / L::kBN, gy = (g.M + L::kBM - 1) / L::kBM;
  for (int64_t by = 0; by < gy; ++by)
    for (int64_t bx = 0; bx < gx; ++bx)
      for (int warp = 0; warp < L::kWarps; ++warp) {
        const int64_t m0 = by * L::kBM + warp * L::kWarpM, n0 = bx * L::kBN;
        if (m0 >= g.M) continue;
        uint32_t acc[32][L::kNTiles][4] = {};
        for (int i = 0; i < g.ba; ++i)
          for (int j = 0; j < g.bb; ++j) {
            uint32_t cf[L::kNTiles][32][4] = {};
            for (int64_t w0 = 0; w0 < g.W2; w0 += L::kStepWords) {
              uint32_t af[32][4];
              for (int lane = 0; lane < 32; ++lane)
                for (int r = 0; r < 4; ++r)
                  af[lane][r] =
                      L::plane_word(g.a, std::min<int64_t>(m0 + L::a_row(lane, r), g.M - 1), i, g.ba, g.W2, w0 + L::a_word(lane, r));
              for (int nt = 0; nt < L::kNTiles; ++nt) {
                uint32_t bfr[32][2];
                for (int lane = 0; lane < 32; ++lane)
                  for (int r = 0; r < 2; ++r)
                    bfr[lane][r] = L::plane_word(g.b, std::min<int64_t>(n0 + 8 * nt + L::b_row(lane), g.N - 1), j, g.bb, g.W2,
                                                 w0 + L::b_word(lane, r));
                emulate_mma(cf[nt], af, bfr);
              }
            }
            const int sh = i + j;
            const bool neg = (L::plane_weight(g.fa, g.ba, i) < 0) != (L::plane_weight(g.fb, g.bb, j) < 0);
            for (int lane = 0; lane < 32; ++lane)
              for (int nt = 0; nt < L::kNTiles; ++nt)
                for (int r = 0; r < 4; ++r) acc[lane][nt][r] += neg ? 0u - (cf[nt][lane][r] << sh) : cf[nt][lane][r] << sh;
          }
        for (int lane = 0; lane < 32; ++lane)
          for (int nt = 0; nt < L::kNTiles; ++nt)
            for (int r = 0; r < 4; ++r) {
              const int64_t m = m0 + L::c_row(lane, r), n = n0 + 8 * nt + L::c_col(lane, r);
              if (m < g.M && n < g.N) out[size_t(m * g.N + n)] = host_y(g, m, n, acc[lane][nt][r]);
            }
      }
}

void emulate_simt(const HostArgs& g, std::vector<int32_t>& out) {
  for (int64_t m = 0; m < g.M; ++m)
    for (int64_t n = 0; n < g.N; ++n) {
      uint32_t S = 0;
      for (int i = 0; i < g.ba; ++i)
        for (int j = 0; j < g.bb; ++j) {
          uint32_t p = 0;
          for (int64_t w = 0; w < g.W2; ++w)
            p += uint32_t(__builtin_popcount(g.a[(m * g.ba + i) * g.W2 + w] & g.b[(n * g.bb + j) * g.W2 + w]));
          S += uint32_t(L::plane_weight(g.fa, g.ba, i) * L::plane_weight(g.fb, g.bb, j)) * p;
        }
      out[size_t(m * g.N + n)] = host_y(g, m, n, S);
    }
}

void check_emulation(Ctx& c, std::mt19937& rng, int64_t M, int64_t N, int64_t K, int ba, int fa, int bb, int fb) {
  Operand a = make_operand(rng, M, K, ba, fa), b = make_operand(rng, N, K, bb, fb);
  std::vector<int32_t> ref(size_t(M * N));
  tk::BitmmParams p = int_params(a, b, M, N, K, ba, fa, bb, fb, ref.data());
  const std::string what = "bitmm cuda emulation a" + std::to_string(ba) + "f" + std::to_string(fa) + " b" + std::to_string(bb) + "f" +
                           std::to_string(fb) + " [" + std::to_string(M) + ", " + std::to_string(N) + ", " + std::to_string(K) + "]";
  c.expect(tk::bitmm(p).ok(), what + ": cpu op");
  HostArgs g;
  g.a = reinterpret_cast<const uint32_t*>(a.planes.data());  // little-endian: u64 word w = u32 words 2w, 2w + 1
  g.b = reinterpret_cast<const uint32_t*>(b.planes.data());
  g.M = M;
  g.N = N;
  g.W2 = 2 * a.W;
  g.ba = ba;
  g.bb = bb;
  g.fa = fa;
  g.fb = fb;
  g.t = L::y_terms(fa, ba, fb, bb, K);
  for (int64_t m = 0; m < M; ++m) g.ca.push_back(host_count(g.a, m, ba, fa, g.W2));
  for (int64_t n = 0; n < N; ++n) g.cb.push_back(host_count(g.b, n, bb, fb, g.W2));
  std::vector<int32_t> tc(size_t(M * N), 0x7f7f7f7f), simt(size_t(M * N), 0x7f7f7f7f);
  emulate_tc(g, tc);
  emulate_simt(g, simt);
  c.expect(tc == ref, what + ": tc tier equals the cpu op");
  c.expect(simt == ref, what + ": simt tier equals the cpu op");
}

void run(Ctx c, std::mt19937& rng) {
  check_b1_fragments(c);
  const int fm[][4] = {{1, 0, 1, 0}, {1, 2, 1, 2}, {2, 0, 2, 0}, {3, 1, 5, 0}, {8, 0, 8, 0}, {2, 2, 3, 1}, {4, 0, 1, 2}, {1, 1, 6, 2}};
  for (const auto& f : fm) check_emulation(c, rng, 19, 37, 300, f[0], f[1], f[2], f[3]);
  check_emulation(c, rng, 70, 9, 64, 2, 0, 2, 0);  // two CTA rows, a partial warp; K a single word
  check_emulation(c, rng, 5, 33, 1, 1, 2, 1, 2);   // K = 1
  check_emulation(c, rng, 17, 40, 520, 3, 2, 2, 2);
}

}  // namespace bitmm_cuda_checks

// Host checks of the CUDA W4A4 index math (native/ops/w4a4/w4a4_cuda_layout.h) for machines without a
// GPU: the .s4 fragment formulas against the PTX tables (written out independently below) and the byte
// form the ldmatrix path delivers, the W4A8 activation permutation, the nibble -> byte unpack, the
// int8 route (two m16n8k32.s8 per m16n8k64.s4) and the sm_75 route (four m8n8k32.s4) against a
// reference product, and a host emulation of the tensor-core kernel's main loop (stage fill with the
// kernel's copy / bounds logic, ldmatrix, the mma of each route, the per-group flush, the epilogue's
// element ownership) whose per-group int32 partials must equal a direct integer dot product exactly.
// Included by selftest.cc after gemm_cuda_checks.h (uses its Ctx and ptx_* formulas).
#pragma once
#include <cstdint>
#include <cstring>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <random>
#include <vector>

#include "../ops/w4a4/w4a4_cuda_layout.h"

namespace w4a4_cuda_checks {

using gemm_cuda_checks::Ctx;
using tk::cugemm::RowCol;
namespace L = tk::cuw4a4;
namespace CG = tk::cugemm;

// PTX ISA, "Matrix Fragments for mma.m16n8k64" (.s4/.u4): A element i (0..31) of a lane sits in
// register i / 8, row g + 8 * ((i / 8) & 1), column 8 t + (i % 8) + 32 * (i >= 16). B element i (0..15):
// register i / 8, row (k) 8 t + (i % 8) + 32 * (i >= 8), column g.
RowCol ptx_s4_a(int lane, int i) { return {(lane >> 2) + 8 * ((i >> 3) & 1), 8 * (lane & 3) + (i & 7) + (i >= 16 ? 32 : 0)}; }
RowCol ptx_s4_b(int lane, int i) { return {8 * (lane & 3) + (i & 7) + (i >= 8 ? 32 : 0), lane >> 2}; }  // (k, n)

inline int nib(uint32_t r, int i) { return int(((r >> (4 * i)) & 15) ^ 8) - 8; }
inline int byte_s(uint32_t r, int i) { return int(int8_t(uint8_t(r >> (8 * i)))); }

// D(16x8) = A(16x64) B(64x8) from per-lane .s4 registers.
void mma_s4_emul(const uint32_t a[32][4], const uint32_t b[32][2], int32_t d[16][8]) {
  int A[16][64] = {}, B[64][8] = {};
  for (int l = 0; l < 32; ++l) {
    for (int i = 0; i < 32; ++i) {
      const RowCol p = ptx_s4_a(l, i);
      A[p.row][p.col] = nib(a[l][i >> 3], i & 7);
    }
    for (int i = 0; i < 16; ++i) {
      const RowCol p = ptx_s4_b(l, i);
      B[p.row][p.col] = nib(b[l][i >> 3], i & 7);
    }
  }
  for (int m = 0; m < 16; ++m)
    for (int n = 0; n < 8; ++n) {
      int s = 0;
      for (int k = 0; k < 64; ++k) s += A[m][k] * B[k][n];
      d[m][n] += s;
    }
}
// D(16x8) += A(16x32) B(32x8) from per-lane .s8 registers (gemm_cuda_checks' PTX formulas, eb = 1).
void mma_s8_emul(const uint32_t a[32][4], const uint32_t b[32][2], int32_t d[16][8]) {
  int A[16][32] = {}, B[32][8] = {};
  for (int l = 0; l < 32; ++l) {
    for (int i = 0; i < 16; ++i) {
      const RowCol p = gemm_cuda_checks::ptx_a(1, l, i);
      A[p.row][p.col] = byte_s(a[l][i >> 2], i & 3);
    }
    for (int i = 0; i < 8; ++i) {
      const RowCol p = gemm_cuda_checks::ptx_b(1, l, i);
      B[p.row][p.col] = byte_s(b[l][i >> 2], i & 3);
    }
  }
  for (int m = 0; m < 16; ++m)
    for (int n = 0; n < 8; ++n) {
      int s = 0;
      for (int k = 0; k < 32; ++k) s += A[m][k] * B[k][n];
      d[m][n] += s;
    }
}
// sm_75: D(8x8) += A(8x32) B(32x8), .s4, one register each: A row g, k 8t + i; B column g, k 8t + i;
// D registers {0, 1}: row g, columns 2t, 2t + 1.
void mma_m8n8k32_emul(const uint32_t a[32], const uint32_t b[32], int32_t d[8][8]) {
  int A[8][32] = {}, B[32][8] = {};
  for (int l = 0; l < 32; ++l)
    for (int i = 0; i < 8; ++i) A[l >> 2][8 * (l & 3) + i] = nib(a[l], i), B[8 * (l & 3) + i][l >> 2] = nib(b[l], i);
  for (int m = 0; m < 8; ++m)
    for (int n = 0; n < 8; ++n)
      for (int k = 0; k < 32; ++k) d[m][n] += A[m][k] * B[k][n];
}

// The kernel's int8-route registers from .s4 ones (w4a4_kernel_common.cuh).
void unpack_route(const uint32_t a[4], const uint32_t b[2], uint32_t au[2][4], uint32_t bu[2][2]) {
  for (int h = 0; h < 2; ++h) {
    au[h][0] = L::nib_bytes(a[2 * h], false), au[h][1] = L::nib_bytes(a[2 * h + 1], false);
    au[h][2] = L::nib_bytes(a[2 * h], true), au[h][3] = L::nib_bytes(a[2 * h + 1], true);
    bu[h][0] = L::nib_bytes(b[h], false), bu[h][1] = L::nib_bytes(b[h], true);
  }
}

void check_fragments(Ctx& c, std::mt19937& rng) {
  // .s4 byte form == PTX table; each element owned once.
  bool ok = true;
  std::map<std::pair<int, int>, int> ownA, ownB;
  for (int l = 0; l < 32; ++l) {
    for (int r = 0; r < 4; ++r)
      for (int i = 0; i < 8; ++i) {
        const RowCol f = L::s4_frag_a(l, r, i), p = ptx_s4_a(l, 8 * r + i), byte = CG::frag_a(l, r);
        ok = ok && f.row == p.row && f.col == p.col && byte.row == f.row && 2 * byte.col + i == f.col;
        ++ownA[{f.row, f.col}];
      }
    for (int r = 0; r < 2; ++r)
      for (int i = 0; i < 8; ++i) {
        const RowCol f = L::s4_frag_b(l, r, i), p = ptx_s4_b(l, 8 * r + i), byte = CG::frag_b(l, r);
        ok = ok && f.row == p.col && f.col == p.row && byte.row == f.row && 2 * byte.col + i == f.col;
        ++ownB[{f.row, f.col}];
      }
  }
  bool once = ownA.size() == 16 * 64 && ownB.size() == 8 * 64;
  for (auto& e : ownA) once = once && e.second == 1;
  for (auto& e : ownB) once = once && e.second == 1;
  c.expect(ok, "w4a4 cuda: .s4 fragments (byte form, ldmatrix) match the PTX m16n8k64 table");
  c.expect(once, "w4a4 cuda: .s4 fragments own every A / B element exactly once");

  bool perm = true;
  for (int64_t k = 0; k < 256; ++k) perm = perm && L::act8_k(L::act8_pos(k)) == k && (L::act8_pos(k) >> 5) == (k >> 5);
  c.expect(perm, "w4a4 cuda: the W4A8 activation permutation is a bijection inside each 32-k chunk");

  bool unpack = true;
  for (int it = 0; it < 2000; ++it) {
    const uint32_t x = rng();
    for (int odd = 0; odd < 2; ++odd)
      for (int j = 0; j < 4; ++j) unpack = unpack && byte_s(L::nib_bytes(x, odd), j) == nib(x, 2 * j + odd);
  }
  c.expect(unpack, "w4a4 cuda: nib_bytes sign-extends nibbles {0,2,4,6} / {1,3,5,7} to bytes");

  // The three routes give one product.
  bool routes = true;
  for (int it = 0; it < 20; ++it) {
    uint32_t a[32][4], b[32][2];
    for (auto& l : a)
      for (auto& r : l) r = rng();
    for (auto& l : b)
      for (auto& r : l) r = rng();
    int32_t d4[16][8] = {}, d8[16][8] = {}, d75[16][8] = {};
    mma_s4_emul(a, b, d4);
    uint32_t au[2][32][4], bu[2][32][2];
    for (int l = 0; l < 32; ++l) {
      uint32_t ta[2][4], tb[2][2];
      unpack_route(a[l], b[l], ta, tb);
      for (int h = 0; h < 2; ++h) {
        std::memcpy(au[h][l], ta[h], sizeof ta[h]);
        std::memcpy(bu[h][l], tb[h], sizeof tb[h]);
      }
    }
    mma_s8_emul(au[0], bu[0], d8);
    mma_s8_emul(au[1], bu[1], d8);
    // sm_75: (a0, b0), (a2, b1) -> rows g; (a1, b0), (a3, b1) -> rows g + 8.
    const int pairs[4][3] = {{0, 0, 0}, {2, 1, 0}, {1, 0, 8}, {3, 1, 8}};
    for (auto& pr : pairs) {
      uint32_t ar[32], br[32];
      for (int l = 0; l < 32; ++l) ar[l] = a[l][pr[0]], br[l] = b[l][pr[1]];
      int32_t d[8][8] = {};
      mma_m8n8k32_emul(ar, br, d);
      for (int m = 0; m < 8; ++m)
        for (int n = 0; n < 8; ++n) d75[pr[2] + m][n] += d[m][n];
    }
    for (int m = 0; m < 16; ++m)
      for (int n = 0; n < 8; ++n) routes = routes && d4[m][n] == d8[m][n] && d4[m][n] == d75[m][n];
  }
  c.expect(routes, "w4a4 cuda: m16n8k64.s4 == 2 x m16n8k32.s8 (unpacked) == 4 x m8n8k32.s4");
}

// ---- host emulation of w4a4_tc's main loop ---------------------------------------------------------
struct Problem {
  int64_t M, N, K, gs;
  int bits;
  std::vector<int8_t> qx;   // [M, K]
  std::vector<int8_t> qw;   // [N, K]
  std::vector<uint8_t> qa;  // the kernel's activation operand
  std::vector<uint8_t> w;   // packed [N, K/2]
  int64_t lda;
};

Problem make_problem(int64_t M, int64_t N, int64_t K, int64_t gs, int bits, std::mt19937& rng) {
  Problem p{M, N, K, gs, bits, {}, {}, {}, {}, L::act_row_bytes(K, bits)};
  const int lo = bits == 8 ? -128 : -8, span = bits == 8 ? 256 : 16;
  p.qx.resize(size_t(M * K));
  p.qw.resize(size_t(N * K));
  for (auto& v : p.qx) v = int8_t(lo + int(rng() % span));
  for (auto& v : p.qw) v = int8_t(-8 + int(rng() % 16));
  p.qa.assign(size_t(M * p.lda), 0);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t k = 0; k < K; ++k) {
      uint8_t* r = p.qa.data() + m * p.lda;
      if (bits == 4)
        r[k >> 1] |= uint8_t((p.qx[m * K + k] & 15) << (4 * (k & 1)));
      else
        r[L::act8_pos(k)] = uint8_t(p.qx[m * K + k]);
    }
  p.w.assign(size_t(N * K / 2), 0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k) p.w[(n * K + k) >> 1] |= uint8_t((p.qw[n * K + k] & 15) << (4 * (k & 1)));
  return p;
}

// ldmatrix.x4: lane l supplies the address of row l % 8 of matrix l / 8; register j of lane l = the 4
// bytes at row l / 4, byte 4 (l % 4) of matrix j.
void ldsm_emul(const uint8_t* tile, const int addr[32], uint32_t out[32][4]) {
  for (int l = 0; l < 32; ++l)
    for (int j = 0; j < 4; ++j) std::memcpy(&out[l][j], tile + addr[8 * j + (l >> 2)] + 4 * (l & 3), 4);
}

// Emulates the kernel for every CTA of a BM x BN (WM x WN warps) grid; returns the number of mismatches
// of the per-group partials and checks each output element is finished once.
template <int BM, int BN, int WM, int WN>
void emulate(Ctx& c, const Problem& p, bool i8, const std::string& what, L::TcSplit sp = {1, 0, false}) {
  constexpr int THREADS = WM * WN * 32, WTM = BM / WM, WTN = BN / WN, MI = WTM / 16, NI = WTN / 8;
  const int A_ROWB = L::kStageBytes4 * p.bits / 4, B_ROWB = L::kStageBytes4;
  const int A_STAGE = BM * A_ROWB, B_STAGE = BN * B_ROWB;
  const int64_t tiles_m = (p.M + BM - 1) / BM, tiles_n = (p.N + BN - 1) / BN, G = p.K / p.gs;
  const int k_tiles = int(L::padded_k(p.K) / L::kStageK);
  std::vector<int32_t> part(size_t(p.M * p.N * G), INT32_MIN);
  std::vector<int> finished(size_t(p.M * p.N), 0);
  int bad_flush = 0;
  std::vector<uint8_t> sA(static_cast<size_t>(A_STAGE)), sB(static_cast<size_t>(B_STAGE));
  if (sp.splits <= 1) sp = {1, k_tiles, false};
  std::vector<int32_t> isum(size_t(p.M * p.N), 0);  // per-channel split-K: the int32 partials added
  std::vector<int> stage_seen(size_t(k_tiles), 0);
  for (int id = 0; id < tiles_m * tiles_n; ++id)
    for (int sy = 0; sy < sp.splits; ++sy) {  // split-K: blockIdx.y
      const RowCol tile = CG::raster(id, int(tiles_m), int(tiles_n), 8);
      const int64_t m0 = int64_t(tile.row) * BM, n0 = int64_t(tile.col) * BN;
      std::vector<int32_t> iacc(size_t(THREADS / 32) * 32 * MI * NI * 4, 0);
      const int kt0 = sy * sp.kt_per, kt1 = std::min(k_tiles, kt0 + sp.kt_per);  // the kernel's range
      for (int kt = kt0; kt < kt1; ++kt) {
        if (id == 0) ++stage_seen[size_t(kt)];
        // Stage fill, as load_stage (one stage is enough: the emulation has no concurrency).
        for (int q = 0; q < A_STAGE / 16; ++q) {
          const RowCol rc = CG::copy_chunk(q, A_ROWB);
          const int64_t m = m0 + rc.row;
          const int o = CG::smem_offset(rc.row, rc.col, A_ROWB);
          for (int b = 0; b < 16; ++b) sA[size_t(o + b)] = m < p.M ? p.qa[size_t(m * p.lda + int64_t(kt) * A_ROWB + rc.col + b)] : 0;
        }
        for (int q = 0; q < B_STAGE / 16; ++q) {
          const RowCol rc = CG::copy_chunk(q, B_ROWB);
          const int64_t n = n0 + rc.row, off = int64_t(kt) * B_ROWB + rc.col;
          const bool in = n < p.N && off < p.K / 2;
          const int o = CG::smem_offset(rc.row, rc.col, B_ROWB);
          for (int b = 0; b < 16; ++b) sB[size_t(o + b)] = in ? p.w[size_t(n * (p.K / 2) + off + b)] : 0;
        }
        for (int warp = 0; warp < THREADS / 32; ++warp) {
          const RowCol wo = CG::warp_origin(warp, WM, WTM, WTN);
          for (int ks = 0; ks < 2; ++ks) {
            uint32_t bf[NI][32][2];
            for (int ni = 0; ni < NI; ni += 2) {
              int addr[32];
              for (int l = 0; l < 32; ++l) {
                const RowCol lb = CG::ldsm_b_kmajor(l);
                addr[l] = CG::smem_offset(wo.col + ni * 8 + lb.row, ks * 32 + lb.col, B_ROWB);
              }
              uint32_t r[32][4];
              ldsm_emul(sB.data(), addr, r);
              for (int l = 0; l < 32; ++l)
                bf[ni][l][0] = r[l][0], bf[ni][l][1] = r[l][1], bf[ni + 1][l][0] = r[l][2], bf[ni + 1][l][1] = r[l][3];
            }
            for (int mi = 0; mi < MI; ++mi) {
              auto lda_addr = [&](int byte0, int addr[32]) {
                for (int l = 0; l < 32; ++l) {
                  const RowCol la = CG::ldsm_a_kmajor(l);
                  addr[l] = CG::smem_offset(wo.row + mi * 16 + la.row, byte0 + la.col, A_ROWB);
                }
              };
              for (int ni = 0; ni < NI; ++ni) {
                int32_t d[16][8] = {};
                if (p.bits == 8) {
                  uint32_t a8[2][32][4], bu[2][32][2];
                  for (int h = 0; h < 2; ++h) {
                    int addr[32];
                    lda_addr(ks * 64 + h * 32, addr);
                    ldsm_emul(sA.data(), addr, a8[h]);
                  }
                  for (int l = 0; l < 32; ++l) {
                    uint32_t ta[2][4], tb[2][2];
                    const uint32_t dummy[4] = {0, 0, 0, 0};
                    unpack_route(dummy, bf[ni][l], ta, tb);
                    for (int h = 0; h < 2; ++h) std::memcpy(bu[h][l], tb[h], sizeof tb[h]);
                  }
                  mma_s8_emul(a8[0], bu[0], d);
                  mma_s8_emul(a8[1], bu[1], d);
                } else {
                  int addr[32];
                  lda_addr(ks * 32, addr);
                  uint32_t af[32][4];
                  ldsm_emul(sA.data(), addr, af);
                  if (!i8) {
                    mma_s4_emul(af, bf[ni], d);
                  } else {
                    uint32_t au[2][32][4], bu[2][32][2];
                    for (int l = 0; l < 32; ++l) {
                      uint32_t ta[2][4], tb[2][2];
                      unpack_route(af[l], bf[ni][l], ta, tb);
                      for (int h = 0; h < 2; ++h) std::memcpy(au[h][l], ta[h], sizeof ta[h]), std::memcpy(bu[h][l], tb[h], sizeof tb[h]);
                    }
                    mma_s8_emul(au[0], bu[0], d);
                    mma_s8_emul(au[1], bu[1], d);
                  }
                }
                for (int l = 0; l < 32; ++l)
                  for (int e = 0; e < 4; ++e) {
                    const RowCol cc = CG::frag_c(l, e);
                    iacc[((size_t(warp) * 32 + l) * MI * NI + mi * NI + ni) * 4 + e] += d[cc.row][cc.col];
                  }
              }
            }
            const int64_t step = int64_t(kt) * 2 + ks;
            if (!sp.ints && L::flush_after_step(step, p.K, p.gs)) {
              const int64_t g = step / (p.gs / L::kStepK);
              for (int l = 0; l < 32; ++l)
                for (int mi = 0; mi < MI; ++mi)
                  for (int ni = 0; ni < NI; ++ni)
                    for (int e = 0; e < 4; ++e) {
                      int32_t& v = iacc[((size_t(warp) * 32 + l) * MI * NI + mi * NI + ni) * 4 + e];
                      const RowCol cc = CG::frag_c(l, e);
                      const int64_t m = m0 + wo.row + mi * 16 + cc.row, n = n0 + wo.col + ni * 8 + cc.col;
                      if (m < p.M && n < p.N) {
                        if (part[size_t((m * p.N + n) * G + g)] != INT32_MIN) ++bad_flush;
                        part[size_t((m * p.N + n) * G + g)] = v;
                      }
                      v = 0;
                    }
            }
          }
        }
      }
      for (int warp = 0; warp < THREADS / 32; ++warp) {
        const RowCol wo = CG::warp_origin(warp, WM, WTM, WTN);
        for (int l = 0; l < 32; ++l)
          for (int mi = 0; mi < MI; ++mi)
            for (int ni = 0; ni < NI; ++ni)
              for (int e = 0; e < 4; ++e) {
                const RowCol cc = CG::frag_c(l, e);
                const int64_t m = m0 + wo.row + mi * 16 + cc.row, n = n0 + wo.col + ni * 8 + cc.col;
                const int32_t v = iacc[((size_t(warp) * 32 + l) * MI * NI + mi * NI + ni) * 4 + e];
                if (m < p.M && n < p.N) {
                  if (sy == 0) ++finished[size_t(m * p.N + n)];
                  if (sp.ints)
                    isum[size_t(m * p.N + n)] += v;  // w4a4_split_reduce's integer sum
                  else if (v != 0)
                    ++bad_flush;  // grouped: every group flushed inside its split
                }
              }
      }
    }
  if (sp.ints)
    for (int64_t i = 0; i < p.M * p.N; ++i) part[size_t(i)] = isum[size_t(i)];
  bool stages = true;
  for (int v : stage_seen) stages = stages && v == 1;
  c.expect(stages, "w4a4 cuda emulation " + what + ": the splits cover every k stage once");
  int bad = 0;
  for (int64_t m = 0; m < p.M; ++m)
    for (int64_t n = 0; n < p.N; ++n)
      for (int64_t g = 0; g < G; ++g) {
        int32_t s = 0;
        for (int64_t k = g * p.gs; k < (g + 1) * p.gs; ++k) s += int32_t(p.qx[m * p.K + k]) * int32_t(p.qw[n * p.K + k]);
        bad += part[size_t((m * p.N + n) * G + g)] != s;
      }
  bool once = true;
  for (int f : finished) once = once && f == 1;
  c.expect(bad == 0 && bad_flush == 0, "w4a4 cuda emulation " + what + ": per-group int32 partials equal the integer dot products (" +
                                           std::to_string(bad) + " wrong, " + std::to_string(bad_flush) + " flushed twice)");
  c.expect(once, "w4a4 cuda emulation " + what + ": every output element is finished exactly once");
}

// ---- weight-only tensor-core path (weight_only_tc) --------------------------------------------------------
inline double bf16_val(uint32_t packed, int half) { return double(L::wo_u2f(half ? (packed & 0xFFFF0000u) : (packed << 16))); }

// Round to nearest even bf16, computed independently of wo_bf16_rn (via double neighbours).
inline double bf16_ref(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  const uint32_t lo = u & 0xFFFF0000u, hi = lo + 0x10000u;
  float flo, fhi;
  std::memcpy(&flo, &lo, 4);
  std::memcpy(&fhi, &hi, 4);
  const double dl = std::fabs(double(x) - double(flo)), dh = std::fabs(double(fhi) - double(x));
  if (dl < dh) return flo;
  if (dh < dl) return fhi;
  return ((lo >> 16) & 1) ? fhi : flo;
}

void check_wo_math(Ctx& c, std::mt19937& rng) {
  // The chunk permutation: a bijection of [0, 32 V) per lane quad; the nibble of the lane's word and
  // the float of its x run that the kernel reads both hold that k.
  for (int V : {1, 2, 4}) {
    std::vector<int> seen(size_t(32 * V), 0);
    bool same = true;
    for (int t = 0; t < 4; ++t)
      for (int j = 0; j < V; ++j)
        for (int h = 0; h < 2; ++h)
          for (int r = 0; r < 2; ++r)
            for (int e = 0; e < 2; ++e) {
              const int k = L::wo_k(V, t, j, h, r, e);
              if (k >= 0 && k < 32 * V) ++seen[size_t(k)];
              same = same && 2 * (L::wo_w_byte(V, t, 0) + 4 * j) + L::wo_nib(h, r, e) == k &&
                     L::wo_x_k(V, t, 0) + 8 * j + 4 * h + 2 * r + e == k && L::wo_w_byte(V, t, 3) == L::wo_w_byte(V, t, 0) + 3 * 16 * V &&
                     L::wo_x_k(V, t, 3) == L::wo_x_k(V, t, 0) + 3 * L::wo_chunk_k(V);
            }
    bool once = true;
    for (int v : seen) once = once && v == 1;
    c.expect(once && same,
             "w4a4 cuda weight-only: chunk permutation (V = " + std::to_string(V) + ") is a bijection, weight nibbles and x floats agree");
  }
  c.expect(L::wo_words(128) == 4 && L::wo_words(4096) == 4 && L::wo_words(64) == 2 && L::wo_words(96) == 1 && L::wo_words(32) == 1 &&
               L::wo_words(48) == 0 && L::wo_words(16) == 0,
           "w4a4 cuda weight-only: words per lane make groups whole chunks");
  // Dequantization: every nibble and zero point gives q - z exactly, and bf16 holds it exactly.
  bool deq = true;
  for (int z = -128; z < 128; ++z)
    for (uint32_t u = 0; u < 16; ++u) {
      const uint32_t word = u << 12;  // nibble 3
      const float v = L::wo_deq(word, 3, L::wo_zero_bias(z));
      const int q = int(u ^ 8) - 8;
      const uint32_t pk = L::wo_pack_bf16(v, -v);
      deq = deq && v == float(q - z) && bf16_val(pk, 0) == double(q - z) && bf16_val(pk, 1) == -double(q - z);
    }
  c.expect(deq,
           "w4a4 cuda weight-only: (2^23 + (nibble ^ 8)) - (2^23 + 8 + z) = q - z, exact in bf16, for every nibble and int8 zero point");
  // Round to nearest even and the exact three-term split.
  bool rn = true, split = true;
  std::uniform_int_distribution<int> ed(-100, 100);
  std::uniform_real_distribution<float> md(1.0f, 2.0f);
  for (int it = 0; it < 200000; ++it) {
    float x = std::ldexp(md(rng), ed(rng)) * (it & 1 ? -1.0f : 1.0f);
    if (it % 7 == 0) {  // ties and near-ties
      uint32_t u;
      std::memcpy(&u, &x, 4);
      u = (u & 0xFFFF0000u) | (it % 3 == 0 ? 0x8000u : it % 3 == 1 ? 0x7FFFu : 0x8001u);
      std::memcpy(&x, &u, 4);
    }
    rn = rn && bf16_val(L::wo_pack_bf16(x, 0.0f), 0) == bf16_ref(x);
    const float y = -x * 0.37f;
    uint32_t s3[3];
    L::wo_split3(x, y, s3);
    const double sx = bf16_val(s3[0], 0) + bf16_val(s3[1], 0) + bf16_val(s3[2], 0);
    const double sy = bf16_val(s3[0], 1) + bf16_val(s3[1], 1) + bf16_val(s3[2], 1);
    split = split && sx == double(x) && sy == double(y);
  }
  c.expect(rn, "w4a4 cuda weight-only: bf16 packing rounds to nearest even");
  c.expect(split, "w4a4 cuda weight-only: x = b0 + b1 + b2 exactly (three bf16 terms)");
  {
    const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
    uint32_t s3[3];
    L::wo_split3(-inf, nan, s3);
    const bool ok = bf16_val(s3[0], 0) == -double(inf) && bf16_val(s3[1], 0) == 0 && bf16_val(s3[2], 0) == 0 &&
                    std::isnan(bf16_val(s3[0], 1)) && bf16_val(s3[1], 1) == 0 && bf16_val(s3[2], 1) == 0;
    L::wo_split3(0.0f, -0.0f, s3);
    c.expect(ok && bf16_val(s3[0], 0) == 0 && bf16_val(s3[1], 0) == 0 && bf16_val(s3[2], 1) == 0,
             "w4a4 cuda weight-only: Inf / NaN stay in the first term (residues 0), zeros split to zeros");
  }
  c.expect(L::wo_splits(2, 32, 528) == 8 && L::wo_splits(896, 64, 528) == 1 && L::wo_splits(128, 32, 528) == 5 &&
               L::wo_splits(1, 4, 528) == 1 && L::wo_splits(1, 4096, 528) == 64,
           "w4a4 cuda weight-only: split-K plan (each split at least 4 chunks, at most 64 splits)");
}

// D(16x8) += A(16x16) B(16x8) bf16 from per-lane registers, in double (products of bf16 are exact).
void mma_bf16_emul(const uint32_t a[32][4], const uint32_t b[32][2], double d[16][8]) {
  double A[16][16] = {}, B[16][8] = {};
  for (int l = 0; l < 32; ++l) {
    for (int i = 0; i < 8; ++i) {
      const RowCol p = gemm_cuda_checks::ptx_a(2, l, i);
      A[p.row][p.col] = bf16_val(a[l][i >> 1], i & 1);
    }
    for (int i = 0; i < 4; ++i) {
      const RowCol p = gemm_cuda_checks::ptx_b(2, l, i);
      B[p.row][p.col] = bf16_val(b[l][i >> 1], i & 1);
    }
  }
  for (int m = 0; m < 16; ++m)
    for (int n = 0; n < 8; ++n)
      for (int k = 0; k < 16; ++k) d[m][n] += A[m][k] * B[k][n];
}

// Host emulation of weight_only_tc + weight_only_reduce: the grid (column blocks, k splits, row tiles),
// each warp's chunk run, every lane's loads through the layout functions, the bf16 registers the
// kernel builds, the mma per the PTX tables, the per-group flush, the warp-order and split-order sums.
// Against the CPU's int4Matmul (tk::w4a4, act_bits 0) within the contract's fp32 bound, and a float64
// reference of the dequantized product to ~1e-12 (the emulation itself is exact up to double sums).
void emulate_wo(Ctx& c, int64_t M, int64_t N, int64_t K, int64_t gs, bool zps, int sms, std::mt19937& rng) {
  const int64_t G = K / gs;
  const int V = L::wo_words(gs), MI = M <= 16 ? 1 : 2, NI = 4, BMR = 16 * MI, BNC = 32;
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::uniform_int_distribution<int> qd(0, 255), zd(-8, 7);
  std::vector<float> x(size_t(M * K)), ws(size_t(N * G)), bias(static_cast<size_t>(N)), cpu(size_t(M * N));
  std::vector<uint8_t> w(size_t(N * K / 2));
  std::vector<int8_t> zp(size_t(N * G));
  for (auto& v : x) v = nd(rng);
  for (auto& v : w) v = uint8_t(qd(rng));
  for (auto& v : ws) v = 0.01f + std::fabs(nd(rng)) * 0.1f;
  for (auto& v : zp) v = int8_t(zps ? zd(rng) : 0);
  for (auto& v : bias) v = nd(rng);
  const std::string what = "w4a4 cuda weight-only emulation " + std::to_string(M) + "x" + std::to_string(N) + "x" + std::to_string(K) +
                           " g" + std::to_string(gs) + (zps ? " zp" : "") + " (" + std::to_string(sms) + " SMs)";
  const int64_t n_blocks = (N + BNC - 1) / BNC, m_tiles = (M + BMR - 1) / BMR, chunks = K / L::wo_chunk_k(V);
  const int want = L::wo_splits(n_blocks * m_tiles, chunks, int64_t(sms) * 4);
  const int cps = int((chunks + want - 1) / want), splits = int((chunks + cps - 1) / cps);
  std::vector<double> part(size_t(splits * M * N), 0.0);
  std::vector<int> chunk_seen(size_t(n_blocks * m_tiles * chunks), 0), owned(size_t(M * N), 0);
  for (int64_t bz = 0; bz < m_tiles; ++bz)
    for (int by = 0; by < splits; ++by)
      for (int64_t bx = 0; bx < n_blocks; ++bx) {
        const int64_t n0 = bx * BNC, m0 = bz * BMR;
        std::vector<double> red(size_t(4 * BMR * BNC), 0.0);
        const int c_begin = by * cps, c_end = std::min<int>(int(chunks), c_begin + cps);
        const int per = (c_end - c_begin + 3) / 4;
        for (int warp = 0; warp < 4; ++warp) {
          const int cb = c_begin + warp * per, ce = std::min(c_end, cb + per);
          double acc[2][4][16][8] = {}, facc[2][4][16][8] = {};
          int64_t grp = -1;
          auto flush = [&](int64_t gq) {
            for (int mi = 0; mi < MI; ++mi)
              for (int ni = 0; ni < NI; ++ni)
                for (int r = 0; r < 16; ++r)
                  for (int col = 0; col < 8; ++col) {
                    const int64_t n = n0 + ni * 8 + col;
                    facc[mi][ni][r][col] += (n < N ? double(ws[size_t(n * G + gq)]) : 0.0) * acc[mi][ni][r][col];
                    acc[mi][ni][r][col] = 0;
                  }
          };
          for (int ch = cb; ch < ce; ++ch) {
            ++chunk_seen[size_t((bz * n_blocks + bx) * chunks + ch)];
            const int64_t gc = int64_t(ch) * L::wo_chunk_k(V) / gs;
            if (gc != grp) {
              if (grp >= 0) flush(grp);
              grp = gc;
            }
            for (int j = 0; j < V; ++j)
              for (int h = 0; h < 2; ++h) {
                uint32_t a[2][3][32][4] = {}, b[4][32][2] = {};
                for (int lane = 0; lane < 32; ++lane) {
                  const int g = lane >> 2, t = lane & 3;
                  for (int mi = 0; mi < MI; ++mi)
                    for (int R = 0; R < 4; ++R) {
                      const int64_t m = m0 + mi * 16 + g + 8 * (R & 1);
                      const int64_t kk = L::wo_x_k(V, t, ch) + 8 * j + 4 * h + 2 * (R >> 1);
                      const float x0 = m < M ? x[size_t(m * K + kk)] : 0.0f, x1 = m < M ? x[size_t(m * K + kk + 1)] : 0.0f;
                      uint32_t s3[3];
                      L::wo_split3(x0, x1, s3);
                      for (int s = 0; s < 3; ++s) a[mi][s][lane][R] = s3[s];
                    }
                  for (int ni = 0; ni < NI; ++ni) {
                    const int64_t n = n0 + ni * 8 + g;
                    uint32_t word = 0;
                    if (n < N) std::memcpy(&word, &w[size_t(n * (K / 2) + L::wo_w_byte(V, t, ch) + 4 * j)], 4);
                    const float zb = L::wo_zero_bias(n < N ? zp[size_t(n * G + grp)] : 0);
                    for (int r = 0; r < 2; ++r)
                      b[ni][lane][r] = L::wo_pack_bf16(L::wo_deq(word, L::wo_nib(h, r, 0), zb), L::wo_deq(word, L::wo_nib(h, r, 1), zb));
                  }
                }
                for (int mi = 0; mi < MI; ++mi)
                  for (int ni = 0; ni < NI; ++ni)
                    for (int s = 0; s < 3; ++s) mma_bf16_emul(a[mi][s], b[ni], acc[mi][ni]);
              }
          }
          if (grp >= 0) flush(grp);
          for (int lane = 0; lane < 32; ++lane)  // the kernel's fragment -> shared-memory store
            for (int mi = 0; mi < MI; ++mi)
              for (int ni = 0; ni < NI; ++ni)
                for (int e = 0; e < 4; ++e) {
                  const RowCol rc = CG::frag_c(lane, e);
                  red[size_t((warp * BMR + mi * 16 + rc.row) * BNC + ni * 8 + rc.col)] = facc[mi][ni][rc.row][rc.col];
                }
        }
        for (int i = 0; i < BMR * BNC; ++i) {
          const int64_t m = m0 + i / BNC, n = n0 + i % BNC;
          if (m >= M || n >= N) continue;
          double v = 0;
          for (int wq = 0; wq < 4; ++wq) v += red[size_t((wq * BMR + i / BNC) * BNC + i % BNC)];
          part[size_t((by * M + m) * N + n)] = v;
          if (by == 0) ++owned[size_t(m * N + n)];
        }
      }
  bool cover = true;
  for (int v : chunk_seen) cover = cover && v == 1;
  for (int v : owned) cover = cover && v == 1;
  c.expect(cover, what + ": every chunk of every tile once, every output once (" + std::to_string(splits) + " splits)");

  tk::W4A4Params p;
  auto mk = [](void* d, tk::DType dt, std::vector<int64_t> sh) {
    tk::TensorView v;
    tk::make_shape(dt, sh.data(), int(sh.size()), &v);
    v.data = d;
    return v;
  };
  p.x = mk(x.data(), tk::DType::kFloat32, {M, K});
  p.w = mk(w.data(), tk::DType::kInt4, {N, K});
  p.scales = mk(ws.data(), tk::DType::kFloat32, {N, G});
  p.zero_points = mk(zp.data(), tk::DType::kInt8, {N, G});
  p.bias = mk(bias.data(), tk::DType::kFloat32, {N});
  p.out = mk(cpu.data(), tk::DType::kFloat32, {M, N});
  p.outlier_idx.ndim = p.outlier_w.ndim = p.outlier_scales.ndim = -1;
  p.group_size = gs;
  p.act_bits = 0;
  const tk::Status st = tk::w4a4(p);
  c.expect(st.ok(), what + ": CPU int4Matmul ran (" + st.message() + ")");
  bool close = true, tight = true;
  std::string bad;
  for (int64_t m = 0; m < M && close && tight; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double v = 0;
      for (int s = 0; s < splits; ++s) v += part[size_t((s * M + m) * N + n)];
      v = double(float(v)) + bias[size_t(n)];
      double ref = bias[size_t(n)], mag = std::fabs(ref);
      for (int64_t k = 0; k < K; ++k) {
        const uint8_t byte = w[size_t(n * (K / 2) + k / 2)];
        const int q = int(((k & 1 ? byte >> 4 : byte) & 15) ^ 8) - 8;
        const double wd = double(float(q - zp[size_t(n * G + k / gs)]) * ws[size_t(n * G + k / gs)]);
        ref += double(x[size_t(m * K + k)]) * wd, mag += std::fabs(double(x[size_t(m * K + k)]) * wd);
      }
      // The emulation rounds once to float per output (the kernel's fp32 roundings are what the
      // contract's bound covers); the scales are applied to exact partials, so ~1e-7 of mag.
      if (!(std::fabs(v - ref) <= 2e-7 * mag + 1e-30))
        tight = false, bad = "emulation " + std::to_string(v) + " vs float64 " + std::to_string(ref);
      if (!(std::fabs(double(cpu[size_t(m * N + n)]) - ref) <= double(K + 8) * std::ldexp(1.0, -24) * mag))
        close = false, bad = "CPU " + std::to_string(cpu[size_t(m * N + n)]) + " vs float64 " + std::to_string(ref);
      if (!tight || !close) {
        bad += " at " + std::to_string(m) + "," + std::to_string(n);
        break;
      }
    }
  c.expect(tight, what + ": emulated kernel equals the dequantized float64 product " + bad);
  c.expect(close, what + ": the CPU int4Matmul reference agrees " + bad);
}

void run(Ctx c, std::mt19937& rng) {
  check_fragments(c, rng);
  c.expect(L::tc_group_ok(4096, 128) && L::tc_group_ok(192, 64) && L::tc_group_ok(256, 256) && !L::tc_group_ok(96, 32) &&
               !L::tc_group_ok(100, 100),
           "w4a4 cuda: tensor-core group sizes are multiples of 64");
  check_wo_math(c, rng);
  emulate_wo(c, 1, 45, 512, 128, false, 132, rng);  // decode, 4 words, split-K
  emulate_wo(c, 3, 70, 256, 64, true, 108, rng);    // 2 words, zero points, group changes inside a warp's run
  emulate_wo(c, 16, 33, 192, 32, true, 4, rng);     // 1 word, odd chunk counts
  emulate_wo(c, 37, 40, 384, 384, false, 80, rng);  // 32-row tiles, per channel
  emulate_wo(c, 2, 8, 8192, 8192, true, 132, rng);  // per channel, long K, 16 splits
  emulate_wo(c, 5, 40, 4096, 64, true, 132, rng);   // grouped split-K: a group per chunk, 16 splits
  emulate_wo(c, 4, 30, 3072, 256, true, 132, rng);  // groups spanning warps, 6 splits
  struct Shape {
    int64_t M, N, K, gs;
  };
  for (const Shape s : {Shape{37, 45, 384, 128}, Shape{5, 70, 192, 64}, Shape{70, 9, 320, 320}}) {
    for (int bits : {4, 8}) {
      const Problem p = make_problem(s.M, s.N, s.K, s.gs, bits, rng);
      const std::string name = std::to_string(s.M) + "x" + std::to_string(s.N) + "x" + std::to_string(s.K) + " g" + std::to_string(s.gs) +
                               " a" + std::to_string(bits);
      if (bits == 4) emulate<64, 64, 2, 2>(c, p, false, name + " s4 small");
      emulate<64, 64, 2, 2>(c, p, true, name + " int8 small");
      if (s.M > 64) emulate<128, 128, 2, 4>(c, p, bits == 8, name + " large");
    }
  }
  // Split-K on the small tiles (decode shapes): the plan's splits, grouped (float partials of whole
  // groups) and per channel (int32 partials), both routes.
  for (const Shape s :
       {Shape{3, 20, 1024, 128}, Shape{5, 70, 640, 64}, Shape{2, 9, 1536, 1536}, Shape{7, 33, 1152, 192}, Shape{1, 8, 704, 704}}) {
    const L::TcSplit sp = L::tc_split_plan(s.K, s.gs, ((s.M + 63) / 64) * ((s.N + 63) / 64), 132);
    c.expect(sp.splits > 1, "w4a4 cuda: split-K planned for a decode shape");
    for (int bits : {4, 8}) {
      const Problem p = make_problem(s.M, s.N, s.K, s.gs, bits, rng);
      const std::string name = std::to_string(s.M) + "x" + std::to_string(s.N) + "x" + std::to_string(s.K) + " g" + std::to_string(s.gs) +
                               " a" + std::to_string(bits) + " splitk" + std::to_string(sp.splits) + (sp.ints ? "i" : "f");
      if (bits == 4) emulate<64, 64, 2, 2>(c, p, false, name + " s4");
      emulate<64, 64, 2, 2>(c, p, true, name + " int8");
    }
  }
  // The plan: splits on group boundaries (lcm(gs, 128) k), every stage in one split, no split when the
  // tiles fill the GPU, at least 2 stages per split.
  bool plan_ok = true;
  for (int64_t K : {64, 128, 192, 640, 1152, 4096, 8192, 11008 / 64 * 64})
    for (int64_t gs : {int64_t(64), int64_t(128), int64_t(192), int64_t(256), K})
      for (int64_t tiles : {1, 3, 17, 66, 200}) {
        if (K % gs != 0) continue;
        const L::TcSplit sp = L::tc_split_plan(K, gs, tiles, 132);
        const int64_t k_tiles = L::padded_k(K) / L::kStageK;
        if (sp.splits <= 1) continue;
        plan_ok = plan_ok && tiles * 2 <= 132 && sp.ints == (gs == K) && int64_t(sp.splits - 1) * sp.kt_per < k_tiles &&
                  int64_t(sp.splits) * sp.kt_per >= k_tiles && sp.kt_per >= 2 && sp.splits <= 32 &&
                  (sp.ints || (sp.kt_per * L::kStageK) % gs == 0);
      }
  c.expect(plan_ok, "w4a4 cuda: split-K plan (group boundaries, coverage, at least 2 stages per split, none when the tiles fill the GPU)");
}

}  // namespace w4a4_cuda_checks

// Host checks of the CUDA GEMM index math (native/ops/gemm/gemm_cuda_layout.h), for machines without
// a GPU: swizzle bijection and bank-conflict freedom, mma fragment ownership against the PTX ISA
// element formulas (written out here independently of the byte-form functions the kernels use),
// CTA tile coverage, rasterization, the wgmma descriptor, and a host emulation of the sm80 kernel's
// main loop (cp.async stage fill -> ldmatrix / ldmatrix.trans / scalar gathers -> mma -> epilogue
// coordinates) against a reference matmul, for every dtype, both operand layouts and both configs.
// Included by selftest.cc; check_gemm_cuda_layout() reports through fail()/g_checks.
#pragma once
#include <cstring>
#include <set>
#include <vector>

#include "../ops/gemm/gemm_configs.h"
#include "../ops/gemm/gemm_cuda_layout.h"

namespace gemm_cuda_checks {

using tk::cugemm::RowCol;
namespace L = tk::cugemm;

// ---- PTX ISA element formulas (9.7.14.5: "Matrix Fragments for mma.m16n8k16 / m16n8k8 / m16n8k32")
// Element i of lane `lane`: (row, column in elements). eb = element bytes (2: f16/bf16 k16, 4: tf32
// k8, 1: s8 k32). Elements are packed low to high in 32-bit registers, 4 / eb per register.
RowCol ptx_a(int eb, int lane, int i) {
  const int g = lane >> 2, t = lane & 3;
  if (eb == 2) return {g + 8 * ((i >> 1) & 1), 2 * t + (i & 1) + (i >= 4 ? 8 : 0)};
  if (eb == 4) return {g + 8 * (i & 1), t + (i >= 2 ? 4 : 0)};
  return {g + 8 * ((i >> 2) & 1), 4 * t + (i & 3) + (i >= 8 ? 16 : 0)};
}
RowCol ptx_b(int eb, int lane, int i) {  // (k row, n column)
  const int g = lane >> 2, t = lane & 3;
  if (eb == 2) return {2 * t + (i & 1) + (i >= 2 ? 8 : 0), g};
  if (eb == 4) return {t + 4 * i, g};
  return {4 * t + (i & 3) + (i >= 4 ? 16 : 0), g};
}
RowCol ptx_c(int lane, int i) { return {(lane >> 2) + (i >= 2 ? 8 : 0), 2 * (lane & 3) + (i & 1)}; }

struct Ctx {
  int* failures;
  int* checks;
  void (*fail)(const std::string&);
  void expect(bool ok, const std::string& what) {
    ++*checks;
    if (!ok) fail(what);
  }
};

void check_swizzle(Ctx& c) {
  for (int row_bytes : {32, 64, 128, 256, 512, 1024}) {
    bool bij = true;
    for (int row = 0; row < 64; ++row) {
      std::set<int> seen;
      for (int byte = 0; byte < row_bytes; ++byte) {
        const int o = L::smem_offset(row, byte, row_bytes);
        bij = bij && o >= row * row_bytes && o < (row + 1) * row_bytes && (o & 15) == (byte & 15);
        seen.insert(o);
      }
      bij = bij && int(seen.size()) == row_bytes;
    }
    c.expect(bij, "swizzle is a bijection within each row, row_bytes " + std::to_string(row_bytes));
    // 8 consecutive rows (aligned to 8) at one logical chunk: 8 distinct 16-byte bank groups.
    bool free = true;
    if (row_bytes >= 32) {
      for (int r0 = 0; r0 < 64; r0 += 8)
        for (int chunk = 0; chunk < row_bytes / 16; ++chunk) {
          std::set<int> groups;
          for (int r = 0; r < 8; ++r) groups.insert((L::smem_offset(r0 + r, chunk * 16, row_bytes) >> 4) & 7);
          free = free && groups.size() == 8;
        }
    }
    c.expect(free || row_bytes < 32, "ldmatrix phase of 8 rows is conflict-free, row_bytes " + std::to_string(row_bytes));
  }
}

// Each 8-lane phase of an ldmatrix.x4 (lanes 8j..8j+7 give matrix j's rows) hits 8 bank groups.
bool phase_free(const int (&addr)[32]) {
  for (int j = 0; j < 4; ++j) {
    std::set<int> groups;
    for (int r = 0; r < 8; ++r) {
      if (addr[8 * j + r] % 16) return false;
      groups.insert((addr[8 * j + r] >> 4) & 7);
    }
    if (groups.size() != 8) return false;
  }
  return true;
}

void check_ldmatrix_and_copy(Ctx& c, const tk::gemm_cuda_configs::TileConfig& cfg) {
  const int wtm = cfg.bm / cfg.warps_m, wtn = cfg.bn / cfg.warps_n;
  bool ok = true;
  for (int ks = 0; ks < 2; ++ks) {
    for (int mb = 0; mb < cfg.bm; mb += 16) {
      int a_k[32], a_mn[32];
      for (int l = 0; l < 32; ++l) {
        RowCol x = L::ldsm_a_kmajor(l);
        a_k[l] = L::smem_offset(mb + x.row, ks * 32 + x.col, 64);
        RowCol y = L::ldsm_a_mnmajor(l);
        a_mn[l] = L::smem_offset(ks * 16 + y.row, (mb + y.col) * 2, cfg.bm * 2);
      }
      ok = ok && phase_free(a_k) && phase_free(a_mn);
    }
    for (int nb = 0; nb < cfg.bn; nb += 16) {
      int b_k[32], b_mn[32];
      for (int l = 0; l < 32; ++l) {
        RowCol x = L::ldsm_b_kmajor(l);
        b_k[l] = L::smem_offset(nb + x.row, ks * 32 + x.col, 64);
        RowCol y = L::ldsm_b_mnmajor(l);
        b_mn[l] = L::smem_offset(ks * 16 + y.row, (nb + y.col) * 2, cfg.bn * 2);
      }
      ok = ok && phase_free(b_k) && phase_free(b_mn);
    }
  }
  c.expect(ok, std::string("ldmatrix addresses conflict-free, ") + cfg.name);
  (void)wtm, (void)wtn;
  // cp.async: each 8-thread phase of 16-byte stores hits 8 bank groups, every chunk written once.
  bool copy_ok = true;
  const int threads = cfg.threads();
  for (int row_bytes : {64, cfg.bm * 1, cfg.bm * 2, cfg.bm * 4}) {
    const int rows = cfg.bm * 64 / row_bytes;
    std::set<int> written;
    for (int round = 0; round < cfg.bm * 4 / threads; ++round)
      for (int t0 = 0; t0 < threads; t0 += 8) {
        std::set<int> groups;
        for (int t = t0; t < t0 + 8; ++t) {
          RowCol rc = L::copy_chunk(t + round * threads, row_bytes);
          const int o = L::smem_offset(rc.row, rc.col, row_bytes);
          copy_ok = copy_ok && rc.row < rows && o % 16 == 0;
          groups.insert((o >> 4) & 7);
          written.insert(o);
        }
        copy_ok = copy_ok && groups.size() == 8;
      }
    copy_ok = copy_ok && int(written.size()) == cfg.bm * 4;
  }
  c.expect(copy_ok, std::string("cp.async stage copy covers the tile, conflict-free, ") + cfg.name);
}

void check_fragments(Ctx& c) {
  for (int eb : {2, 4, 1}) {
    const int per_reg = 4 / eb, kel = 32 / eb;
    // Byte-form functions agree with the PTX element formulas.
    bool agree = true;
    std::vector<int> a_cover(16 * kel, 0), b_cover(8 * kel, 0);
    for (int lane = 0; lane < 32; ++lane) {
      for (int i = 0; i < 4 * per_reg; ++i) {
        RowCol e = ptx_a(eb, lane, i);
        RowCol f = L::frag_a(lane, i / per_reg);
        agree = agree && e.row == f.row && e.col * eb == f.col + (i % per_reg) * eb;
        a_cover[e.row * kel + e.col]++;
      }
      for (int i = 0; i < 2 * per_reg; ++i) {
        RowCol e = ptx_b(eb, lane, i);
        RowCol f = L::frag_b(lane, i / per_reg);
        agree = agree && e.col == f.row && e.row * eb == f.col + (i % per_reg) * eb;
        b_cover[e.row * 8 + e.col]++;
      }
    }
    bool once = true;
    for (int v : a_cover) once = once && v == 1;
    for (int v : b_cover) once = once && v == 1;
    c.expect(agree, "frag_a / frag_b match the PTX fragment formulas, element bytes " + std::to_string(eb));
    c.expect(once, "each A (16 x K) and B (K x 8) element is held by exactly one lane, element bytes " + std::to_string(eb));
  }
  std::vector<int> cc(16 * 8, 0);
  bool agree = true;
  for (int lane = 0; lane < 32; ++lane)
    for (int i = 0; i < 4; ++i) {
      RowCol e = ptx_c(lane, i), f = L::frag_c(lane, i);
      agree = agree && e.row == f.row && e.col == f.col;
      cc[e.row * 8 + e.col]++;
    }
  bool once = true;
  for (int v : cc) once = once && v == 1;
  c.expect(agree && once, "frag_c matches the PTX accumulator layout and covers 16x8 once");
}

void check_tile_ownership(Ctx& c, const tk::gemm_cuda_configs::TileConfig& cfg) {
  const int wtm = cfg.bm / cfg.warps_m, wtn = cfg.bn / cfg.warps_n;
  std::vector<int> owner(cfg.bm * cfg.bn, 0);
  for (int warp = 0; warp < cfg.warps_m * cfg.warps_n; ++warp) {
    RowCol wo = L::warp_origin(warp, cfg.warps_m, wtm, wtn);
    for (int lane = 0; lane < 32; ++lane)
      for (int mi = 0; mi < wtm / 16; ++mi)
        for (int ni = 0; ni < wtn / 8; ++ni)
          for (int e = 0; e < 4; ++e) {
            RowCol f = L::frag_c(lane, e);
            owner[(wo.row + mi * 16 + f.row) * cfg.bn + wo.col + ni * 8 + f.col]++;
          }
  }
  bool once = true;
  for (int v : owner) once = once && v == 1;
  c.expect(once, std::string("each output of a CTA tile has exactly one (warp, lane, register), ") + cfg.name);
}

void check_raster_and_desc(Ctx& c) {
  bool ok = true;
  for (int tm : {1, 3, 8, 9, 17, 64})
    for (int tn : {1, 2, 7, 33})
      for (int gm : {1, 8}) {
        std::vector<int> seen(tm * tn, 0);
        for (int id = 0; id < tm * tn; ++id) {
          RowCol r = L::raster(id, tm, tn, gm);
          if (r.row < 0 || r.row >= tm || r.col < 0 || r.col >= tn)
            ok = false;
          else
            seen[r.row * tn + r.col]++;
        }
        for (int v : seen) ok = ok && v == 1;
      }
  c.expect(ok, "CTA rasterization is a bijection onto the tile grid");
  const uint64_t d = L::wgmma_desc(0x12340, 16, 1024, 1);
  c.expect(
      (d & 0x3FFF) == (0x12340 >> 4) && ((d >> 16) & 0x3FFF) == 1 && ((d >> 32) & 0x3FFF) == 64 && (d >> 62) == 1 && ((d >> 49) & 7) == 0,
      "wgmma descriptor fields (address >> 4, LBO, SBO = 1024 B, 128B swizzle)");
  // wgmma m64n256 accumulators: 128 threads x 128 values cover 64 x 256 once.
  std::vector<int> cov(64 * 256, 0);
  for (int t = 0; t < 128; ++t)
    for (int i = 0; i < 128; ++i) {
      RowCol r = L::wgmma_frag_d(t, i);
      cov[r.row * 256 + r.col]++;
    }
  bool once = true;
  for (int v : cov) once = once && v == 1;
  c.expect(once, "wgmma m64n256 accumulator fragments cover the 64x256 tile once");
}

// ---- host emulation of the sm80 kernel main loop (one CTA tile, all warps, all stages) --------
struct EmuCase {
  int eb;  // 2 = f16 values, 4 = float (tf32 emulated without rounding), 1 = int8
  bool a_k, b_k;
  const tk::gemm_cuda_configs::TileConfig* cfg;
  int M, N, K;  // within one tile in M and N; K spans several stages (K % (16 / eb) == 0 where contiguous)
};

double decode(int eb, const uint8_t* p) {
  if (eb == 1) return double(int8_t(*p));
  if (eb == 4) {
    float f;
    std::memcpy(&f, p, 4);
    return f;
  }
  uint16_t h;
  std::memcpy(&h, p, 2);
  return double(int16_t(h)) / 64.0;  // the bits as an exact small value, 0 -> 0 like a zero-filled half (layout check)
}

bool emulate(const EmuCase& e, std::mt19937& rng, std::string* why) {
  const int eb = e.eb, BM = e.cfg->bm, BN = e.cfg->bn, THREADS = e.cfg->threads(), STAGES = e.cfg->stages;
  const int BK = 64 / eb, WTM = BM / e.cfg->warps_m, WTN = BN / e.cfg->warps_n, MI = WTM / 16, NI = WTN / 8;
  const int M = e.M, N = e.N, K = e.K;
  const int lda = e.a_k ? K : M, ldb = e.b_k ? K : N;
  std::vector<uint8_t> A(size_t(M) * K * eb), B(size_t(K) * N * eb);
  std::uniform_int_distribution<int> byte(0, 255);
  for (auto& x : A) x = uint8_t(byte(rng));
  for (auto& x : B) x = uint8_t(byte(rng));
  if (eb == 4) {  // keep floats finite and small
    std::uniform_real_distribution<float> u(-1, 1);
    for (size_t i = 0; i < A.size() / 4; ++i) {
      float f = u(rng);
      std::memcpy(&A[i * 4], &f, 4);
    }
    for (size_t i = 0; i < B.size() / 4; ++i) {
      float f = u(rng);
      std::memcpy(&B[i * 4], &f, 4);
    }
  }
  auto a_at = [&](int m, int k) { return decode(eb, &A[size_t(e.a_k ? m * lda + k : k * lda + m) * eb]); };
  auto b_at = [&](int k, int n) { return decode(eb, &B[size_t(e.b_k ? n * ldb + k : k * ldb + n) * eb]); };
  const int A_ROWB = e.a_k ? 64 : BM * eb, B_ROWB = e.b_k ? 64 : BN * eb;
  const int A_STAGE = BM * 64, B_STAGE = BN * 64;
  std::vector<uint8_t> sA(size_t(STAGES) * A_STAGE), sB(size_t(STAGES) * B_STAGE);
  std::vector<double> acc(size_t(THREADS) * MI * NI * 4, 0.0);
  const int k_tiles = (K + BK - 1) / BK;
  for (int kt = 0; kt < k_tiles; ++kt) {
    const int stage = kt % STAGES, k0 = kt * BK;
    // cp.async stage fill, thread by thread, chunk by chunk (zero-fill outside).
    for (int tid = 0; tid < THREADS; ++tid) {
      for (int q = tid; q < A_STAGE / 16; q += THREADS) {
        RowCol rc = L::copy_chunk(q, A_ROWB);
        const int m = e.a_k ? rc.row : rc.col / eb, k = k0 + (e.a_k ? rc.col / eb : rc.row);
        uint8_t* dst = &sA[size_t(stage) * A_STAGE + L::smem_offset(rc.row, rc.col, A_ROWB)];
        const bool in = m < M && k < K;
        for (int b = 0; b < 16; ++b) dst[b] = in ? A[size_t(e.a_k ? m * lda + k : k * lda + m) * eb + b] : 0;
      }
      for (int q = tid; q < B_STAGE / 16; q += THREADS) {
        RowCol rc = L::copy_chunk(q, B_ROWB);
        const int n = e.b_k ? rc.row : rc.col / eb, k = k0 + (e.b_k ? rc.col / eb : rc.row);
        uint8_t* dst = &sB[size_t(stage) * B_STAGE + L::smem_offset(rc.row, rc.col, B_ROWB)];
        const bool in = n < N && k < K;
        for (int b = 0; b < 16; ++b) dst[b] = in ? B[size_t(e.b_k ? n * ldb + k : k * ldb + n) * eb + b] : 0;
      }
    }
    const uint8_t* at = &sA[size_t(stage) * A_STAGE];
    const uint8_t* bt = &sB[size_t(stage) * B_STAGE];
    auto u32 = [](const uint8_t* p) {
      uint32_t v;
      std::memcpy(&v, p, 4);
      return v;
    };
    auto u16 = [](const uint8_t* p) {
      uint16_t v;
      std::memcpy(&v, p, 2);
      return uint32_t(v);
    };
    for (int warp = 0; warp < THREADS / 32; ++warp) {
      RowCol wo = L::warp_origin(warp, e.cfg->warps_m, WTM, WTN);
      for (int ks = 0; ks < 2; ++ks) {
        std::vector<uint32_t> af(size_t(MI) * 32 * 4), bf(size_t(NI) * 32 * 2);
        for (int mi = 0; mi < MI; ++mi) {
          const int mb = wo.row + mi * 16;
          int addr[32];
          for (int l = 0; l < 32; ++l) {
            if (e.a_k) {
              RowCol x = L::ldsm_a_kmajor(l);
              addr[l] = L::smem_offset(mb + x.row, ks * 32 + x.col, A_ROWB);
            } else {
              RowCol x = L::ldsm_a_mnmajor(l);
              addr[l] = L::smem_offset(ks * 16 + x.row, (mb + x.col) * 2, A_ROWB);
            }
          }
          for (int l = 0; l < 32; ++l)
            for (int j = 0; j < 4; ++j) {
              uint32_t v;
              if (e.a_k)
                v = u32(at + addr[8 * j + l / 4] + 4 * (l % 4));  // ldmatrix
              else if (eb == 2)
                v = u16(at + addr[8 * j + 2 * (l % 4)] + 2 * (l / 4)) |
                    (u16(at + addr[8 * j + 2 * (l % 4) + 1] + 2 * (l / 4)) << 16);  // .trans
              else {                                                                // scalar gather, as gather_mn
                RowCol f = L::frag_a(l, j);
                const int k_el = (ks * 32 + f.col) / eb, m = mb + f.row;
                if (eb == 4)
                  v = u32(at + L::smem_offset(k_el, m * 4, A_ROWB));
                else {
                  v = 0;
                  for (int q = 0; q < 4; ++q) v |= uint32_t(at[L::smem_offset(k_el + q, m, A_ROWB)]) << (8 * q);
                }
              }
              af[(size_t(mi) * 32 + l) * 4 + j] = v;
            }
        }
        for (int ni = 0; ni < NI; ni += 2) {
          const int nb = wo.col + ni * 8;
          int addr[32];
          for (int l = 0; l < 32; ++l) {
            if (e.b_k) {
              RowCol x = L::ldsm_b_kmajor(l);
              addr[l] = L::smem_offset(nb + x.row, ks * 32 + x.col, B_ROWB);
            } else {
              RowCol x = L::ldsm_b_mnmajor(l);
              addr[l] = L::smem_offset(ks * 16 + x.row, (nb + x.col) * 2, B_ROWB);
            }
          }
          for (int l = 0; l < 32; ++l)
            for (int j = 0; j < 4; ++j) {
              uint32_t v;
              const int h = j >> 1, r = j & 1;
              if (e.b_k)
                v = u32(bt + addr[8 * j + l / 4] + 4 * (l % 4));
              else if (eb == 2)
                v = u16(bt + addr[8 * j + 2 * (l % 4)] + 2 * (l / 4)) | (u16(bt + addr[8 * j + 2 * (l % 4) + 1] + 2 * (l / 4)) << 16);
              else {
                RowCol f = L::frag_b(l, r);
                const int k_el = (ks * 32 + f.col) / eb, n = nb + h * 8 + f.row;
                if (eb == 4)
                  v = u32(bt + L::smem_offset(k_el, n * 4, B_ROWB));
                else {
                  v = 0;
                  for (int q = 0; q < 4; ++q) v |= uint32_t(bt[L::smem_offset(k_el + q, n, B_ROWB)]) << (8 * q);
                }
              }
              bf[(size_t(ni + h) * 32 + l) * 2 + r] = v;
            }
        }
        // mma, interpreted with the PTX element formulas.
        const int per_reg = 4 / eb, kel = 32 / eb;
        for (int mi = 0; mi < MI; ++mi)
          for (int ni = 0; ni < NI; ++ni) {
            std::vector<double> Am(16 * kel), Bm(kel * 8);
            for (int l = 0; l < 32; ++l) {
              for (int i = 0; i < 4 * per_reg; ++i) {
                uint32_t reg = af[(size_t(mi) * 32 + l) * 4 + i / per_reg];
                uint8_t bytes[4];
                std::memcpy(bytes, &reg, 4);
                RowCol p = ptx_a(eb, l, i);
                Am[p.row * kel + p.col] = decode(eb, bytes + (i % per_reg) * eb);
              }
              for (int i = 0; i < 2 * per_reg; ++i) {
                uint32_t reg = bf[(size_t(ni) * 32 + l) * 2 + i / per_reg];
                uint8_t bytes[4];
                std::memcpy(bytes, &reg, 4);
                RowCol p = ptx_b(eb, l, i);
                Bm[p.row * 8 + p.col] = decode(eb, bytes + (i % per_reg) * eb);
              }
            }
            for (int l = 0; l < 32; ++l)
              for (int i = 0; i < 4; ++i) {
                RowCol p = ptx_c(l, i);
                double s = 0;
                for (int k = 0; k < kel; ++k) s += Am[p.row * kel + k] * Bm[k * 8 + p.col];
                acc[((size_t(warp * 32 + l) * MI + mi) * NI + ni) * 4 + i] += s;
              }
          }
      }
    }
  }
  // Epilogue coordinates (frag_c) against the reference.
  std::vector<int> hits(size_t(M) * N, 0);
  for (int warp = 0; warp < THREADS / 32; ++warp) {
    RowCol wo = L::warp_origin(warp, e.cfg->warps_m, WTM, WTN);
    for (int l = 0; l < 32; ++l)
      for (int mi = 0; mi < MI; ++mi)
        for (int ni = 0; ni < NI; ++ni)
          for (int i = 0; i < 4; ++i) {
            RowCol f = L::frag_c(l, i);
            const int m = wo.row + mi * 16 + f.row, n = wo.col + ni * 8 + f.col;
            if (m >= M || n >= N) continue;
            hits[size_t(m) * N + n]++;
            double ref = 0, mag = 0;
            for (int k = 0; k < K; ++k) ref += a_at(m, k) * b_at(k, n), mag += std::fabs(a_at(m, k) * b_at(k, n));
            const double got = acc[((size_t(warp * 32 + l) * MI + mi) * NI + ni) * 4 + i];
            if (std::fabs(got - ref) > 1e-9 * (mag + 1)) {
              *why =
                  "element (" + std::to_string(m) + ", " + std::to_string(n) + "): " + std::to_string(got) + " vs " + std::to_string(ref);
              return false;
            }
          }
  }
  for (int h : hits)
    if (h != 1) {
      *why = "an output element was written " + std::to_string(h) + " times";
      return false;
    }
  return true;
}

void check_emulation(Ctx& c, std::mt19937& rng) {
  const auto& S = tk::gemm_cuda_configs::kSm80Small;
  const auto& Lg = tk::gemm_cuda_configs::kSm80Large;
  for (const auto* cfg : {&S, &Lg})
    for (int eb : {2, 4, 1})
      for (int lay = 0; lay < 4; ++lay) {
        const int vec = 16 / eb;
        EmuCase e{eb, (lay & 1) != 0, (lay & 2) != 0, cfg, cfg->bm - 3, cfg->bn - 5, 0};
        // K spans more stages than the pipeline depth with a partial last stage; the contiguous
        // dimension of each operand is a multiple of 16 bytes (the kernel's precondition).
        e.K = (64 / eb) * (cfg->stages + 1) + 3 * vec;
        if (!e.a_k) e.M = (e.M / vec) * vec;
        if (!e.b_k) e.N = (e.N / vec) * vec;
        std::string why;
        const bool ok = emulate(e, rng, &why);
        c.expect(ok, std::string("sm80 main-loop emulation ") + cfg->name + " eb=" + std::to_string(eb) +
                         (e.a_k ? " A k-major" : " A m-major") + (e.b_k ? " B k-major" : " B n-major") + " " + std::to_string(e.M) + "x" +
                         std::to_string(e.N) + "x" + std::to_string(e.K) + (ok ? "" : ": " + why));
      }
}

inline void run(Ctx c, std::mt19937& rng) {
  check_swizzle(c);
  check_ldmatrix_and_copy(c, tk::gemm_cuda_configs::kSm80Small);
  check_ldmatrix_and_copy(c, tk::gemm_cuda_configs::kSm80Large);
  check_fragments(c);
  check_tile_ownership(c, tk::gemm_cuda_configs::kSm80Small);
  check_tile_ownership(c, tk::gemm_cuda_configs::kSm80Large);
  check_raster_and_desc(c);
  check_emulation(c, rng);
}

}  // namespace gemm_cuda_checks

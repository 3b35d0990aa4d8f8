// Host checks of the CUDA SpMM index math (native/ops/spmm/spmm_cuda_layout.h), for machines without a
// GPU: CSR lane ownership (each output column of a row slot held by exactly one lane, shuffle masks
// = the lanes of one row group), long-row chunking, the tf32 fragments in float units against the PTX
// formulas (gemm_cuda_checks.h), shared-memory bank conflicts of the tiles kernel's fragment reads,
// the 3xTF32 split, and host emulations of the blocked (SMaT) and tiles (Flash-LLM) kernels' main
// loops -- register by register, as the kernels load them -- against a float64 reference, including
// the permutation undone in the blocked epilogue. Included by selftest.cc after gemm_cuda_checks.h.
#pragma once
#include <algorithm>
#include <array>
#include <cmath>
#include <random>
#include <vector>

#include "../ops/spmm/spmm_configs.h"
#include "../ops/spmm/spmm_cuda_layout.h"

namespace spmm_cuda_checks {

namespace L = tk::cuspmm;
using gemm_cuda_checks::Ctx;
using tk::cugemm::RowCol;

void check_csr_lanes(Ctx& c) {
  for (int g : {4, 8, 16, 32})
    for (int vec : {1, 4}) {
      const int rows = L::csr_rows_per_cta(g), cols = L::csr_tile_cols(g, vec);
      std::vector<int> cover(rows * cols, 0);
      bool masks = true;
      for (int tid = 0; tid < L::kCsrWarps * 32; ++tid) {
        const RowCol at = L::csr_thread(tid, g, vec);
        for (int e = 0; e < vec; ++e)
          if (at.row >= 0 && at.row < rows && at.col + e < cols) cover[at.row * cols + at.col + e]++;
        // The mask holds exactly the lanes with this lane's row slot.
        const unsigned m = L::csr_group_mask(tid & 31, g);
        for (int o = 0; o < 32; ++o) {
          const bool same = L::csr_thread((tid & ~31) | o, g, vec).row == at.row;
          masks = masks && (((m >> o) & 1u) != 0) == same;
        }
      }
      bool once = true;
      for (int v : cover) once = once && v == 1;
      c.expect(once, "csr: every (row slot, column) of a CTA tile held by exactly one lane, G=" + std::to_string(g) +
                         " VEC=" + std::to_string(vec));
      c.expect(masks, "csr: shuffle mask = the lanes of one row group, G=" + std::to_string(g));
    }
  for (int64_t n : {1, 3, 4, 5, 16, 17, 64, 65, 128, 1000})
    for (int vec : {1, 4}) {
      const int g = tk::spmm_cuda_configs::csr_group_lanes(n, vec);
      c.expect(g == 32 || L::csr_tile_cols(g, vec) >= n, "csr: the group tile covers N below 128 columns, N=" + std::to_string(n));
    }
}

void check_chunks(Ctx& c) {
  for (int64_t len : {0, 1, 1023, 1024, 1025, 2048, 5000, 100000})
    for (int64_t split : {int64_t(1024), int64_t(7)}) {
      const int64_t b = 37, e = b + len, k = L::chunks_of(len, split);
      bool ok = len <= split ? k == 0 : true;
      int64_t at = b;
      for (int64_t q = 0; q < k; ++q) {
        const int64_t cb = L::chunk_begin(b, q, split), ce = L::chunk_end(b, e, q, split);
        ok = ok && cb == at && ce > cb && ce - cb <= split;
        at = ce;
      }
      if (k > 0) ok = ok && at == e;
      c.expect(ok, "chunks of a long row cover it once, in order, len=" + std::to_string(len) + " split=" + std::to_string(split));
    }
}

void check_fragments_and_banks(Ctx& c) {
  bool agree = true;
  for (int lane = 0; lane < 32; ++lane) {
    for (int r = 0; r < 4; ++r) {
      const RowCol e = gemm_cuda_checks::ptx_a(4, lane, r), f = L::frag_a(lane, r);
      agree = agree && e.row == f.row && e.col == f.col;
    }
    for (int r = 0; r < 2; ++r) {
      const RowCol e = gemm_cuda_checks::ptx_b(4, lane, r), f = L::frag_b(lane, r);  // ptx_b: (k, n)
      agree = agree && e.row == f.row && e.col == f.col;
    }
    for (int i = 0; i < 4; ++i) {
      const RowCol e = gemm_cuda_checks::ptx_c(lane, i), f = L::frag_c(lane, i);
      agree = agree && e.row == f.row && e.col == f.col;
    }
  }
  c.expect(agree, "spmm tf32 fragments (float units) match the PTX m16n8k8 tf32 formulas");
  // Tiles kernel: each fragment register read by the 32 lanes hits 32 different banks.
  for (int nt : {1, 2, 4, 8}) {
    bool free = true;
    for (int r = 0; r < 4; ++r) {
      std::vector<int> banks;
      for (int lane = 0; lane < 32; ++lane) {
        const RowCol e = L::frag_a(lane, r);
        banks.push_back((e.row * L::tile_a_stride() + e.col) % 32);
      }
      std::sort(banks.begin(), banks.end());
      free = free && std::unique(banks.begin(), banks.end()) == banks.end();
    }
    for (int t = 0; t < nt; ++t)
      for (int r = 0; r < 2; ++r) {
        std::vector<int> banks;
        for (int lane = 0; lane < 32; ++lane) {
          const RowCol e = L::frag_b(lane, r);
          banks.push_back((e.row * L::tile_b_stride(nt) + 8 * t + e.col) % 32);
        }
        std::sort(banks.begin(), banks.end());
        free = free && std::unique(banks.begin(), banks.end()) == banks.end();
      }
    c.expect(free, "tiles kernel: fragment reads from smem are bank-conflict free, NT=" + std::to_string(nt));
  }
}

void split3(float x, float* hi, float* lo) {
  *hi = L::tf32_rna_host(x);
  *lo = L::tf32_rna_host(x - *hi);
}

void check_tf32(Ctx& c, std::mt19937& rng) {
  std::normal_distribution<float> nd(0.0f, 100.0f);
  bool ok = true;
  for (int i = 0; i < 10000; ++i) {
    const float x = nd(rng);
    float hi, lo;
    split3(x, &hi, &lo);
    uint32_t u;
    std::memcpy(&u, &hi, 4);
    ok = ok && (u & 0x1fffu) == 0 && std::fabs(double(hi) + double(lo) - double(x)) <= std::ldexp(std::fabs(double(x)), -21);
  }
  c.expect(ok, "3xTF32 split: hi has 10 mantissa bits, |hi + lo - x| <= 2^-21 |x|");
}

// One m16n8k8 mma, 3xTF32, as the kernels issue it: registers given as the lanes hold them; the PTX
// formulas say which element each register is. Accumulates in double (the emulation checks indices).
void mma3_emulated(double (&d)[32][4], const float (&a)[32][4], const float (&b)[32][2]) {
  double A[16][8] = {}, B[8][8] = {};
  for (int lane = 0; lane < 32; ++lane) {
    for (int r = 0; r < 4; ++r) {
      const RowCol e = gemm_cuda_checks::ptx_a(4, lane, r);
      float hi, lo;
      split3(a[lane][r], &hi, &lo);
      A[e.row][e.col] = double(hi) + double(lo);
    }
    for (int r = 0; r < 2; ++r) {
      const RowCol e = gemm_cuda_checks::ptx_b(4, lane, r);
      float hi, lo;
      split3(b[lane][r], &hi, &lo);
      B[e.row][e.col] = double(hi) + double(lo);
    }
  }
  for (int lane = 0; lane < 32; ++lane)
    for (int i = 0; i < 4; ++i) {
      const RowCol e = gemm_cuda_checks::ptx_c(lane, i);
      for (int k = 0; k < 8; ++k) d[lane][i] += A[e.row][k] * B[k][e.col];
    }
}

struct Csr {
  int64_t rows, cols;
  std::vector<int64_t> ptr, col;
  std::vector<float> val;
};

Csr random_csr(std::mt19937& rng, int64_t rows, int64_t cols, double density) {
  Csr m{rows, cols, {0}, {}, {}};
  std::uniform_real_distribution<double> u(0, 1);
  std::uniform_real_distribution<float> v(-1, 1);
  for (int64_t r = 0; r < rows; ++r) {
    const double d = r % 7 == 3 ? std::min(1.0, density * 8) : density;  // some denser rows
    for (int64_t k = 0; k < cols; ++k)
      if (u(rng) < d) m.col.push_back(k), m.val.push_back(v(rng));
    m.ptr.push_back(int64_t(m.col.size()));
  }
  return m;
}

// Reference and per-output magnitude (sum |terms|) in double.
void reference(const Csr& m, const std::vector<float>& b, int64_t n, std::vector<double>* y, std::vector<double>* mag) {
  y->assign(m.rows * n, 0.0), mag->assign(m.rows * n, 0.0);
  for (int64_t r = 0; r < m.rows; ++r)
    for (int64_t p = m.ptr[r]; p < m.ptr[r + 1]; ++p)
      for (int64_t j = 0; j < n; ++j) {
        const double t = double(m.val[p]) * b[m.col[p] * n + j];
        (*y)[r * n + j] += t, (*mag)[r * n + j] += std::fabs(t);
      }
}

bool close(const std::vector<double>& got, const std::vector<double>& y, const std::vector<double>& mag, std::string* why) {
  for (size_t i = 0; i < y.size(); ++i)
    if (!(std::fabs(got[i] - y[i]) <= std::ldexp(mag[i], -19) + 1e-30)) {
      *why = "element " + std::to_string(i) + ": " + std::to_string(got[i]) + " vs " + std::to_string(y[i]);
      return false;
    }
  return true;
}

// The blocked form (as lib/sparse/blocked.ts builds it, with a given row order) and the kernel.
bool emulate_blocked(Ctx& c, std::mt19937& rng, int64_t rows, int64_t cols, int64_t n, std::string* why) {
  const Csr m = random_csr(rng, rows, cols, 0.08);
  std::vector<int32_t> perm(rows);
  for (int64_t i = 0; i < rows; ++i) perm[i] = int32_t(i);
  std::shuffle(perm.begin(), perm.end(), rng);  // any order: the epilogue must undo it
  const int64_t panels = (rows + 15) / 16;
  std::vector<int32_t> panel_ptr(panels + 1, 0), block_col;
  std::vector<float> block_values;
  for (int64_t pn = 0; pn < panels; ++pn) {
    std::vector<int64_t> groups;
    for (int64_t i = pn * 16; i < std::min(rows, pn * 16 + 16); ++i)
      for (int64_t p = m.ptr[perm[i]]; p < m.ptr[perm[i] + 1]; ++p) groups.push_back(m.col[p] / 8);
    std::sort(groups.begin(), groups.end());
    groups.erase(std::unique(groups.begin(), groups.end()), groups.end());
    for (int64_t g : groups) block_col.push_back(int32_t(g * 8));
    const size_t base = block_values.size() / 128;
    block_values.resize((base + groups.size()) * 128, 0.0f);
    for (int64_t i = pn * 16; i < std::min(rows, pn * 16 + 16); ++i)
      for (int64_t p = m.ptr[perm[i]]; p < m.ptr[perm[i] + 1]; ++p) {
        const size_t blk = base + (std::lower_bound(groups.begin(), groups.end(), m.col[p] / 8) - groups.begin());
        block_values[blk * 128 + L::blk_value_index(int(i - pn * 16), int(m.col[p] % 8))] += m.val[p];
      }
    panel_ptr[pn + 1] = int32_t(block_col.size());
  }
  std::vector<float> b(cols * n);
  std::uniform_real_distribution<float> u(-1, 1);
  for (auto& x : b) x = u(rng);
  std::vector<double> y, mag, got(rows * n, 0.0);
  std::vector<int> writes(rows * n, 0);
  reference(m, b, n, &y, &mag);
  const int nt = tk::spmm_cuda_configs::blk_tiles(n);
  const int64_t ctas_n = (n + L::blk_cta_cols(nt) - 1) / L::blk_cta_cols(nt);
  for (int64_t panel = 0; panel < panels; ++panel)
    for (int64_t cy = 0; cy < ctas_n; ++cy)
      for (int warp = 0; warp < L::kBlkWarps; ++warp) {
        const int64_t n0 = cy * L::blk_cta_cols(nt) + warp * 8 * nt;
        if (n0 >= n) continue;
        std::vector<std::array<std::array<double, 4>, 32>> acc(nt);
        for (auto& t : acc)
          for (auto& l : t) l.fill(0.0);
        for (int64_t blk = panel_ptr[panel]; blk < panel_ptr[panel + 1]; ++blk) {
          const int64_t col0 = block_col[blk];
          float a[32][4], bf[32][2];
          for (int lane = 0; lane < 32; ++lane)
            for (int r = 0; r < 4; ++r) {
              const RowCol e = L::frag_a(lane, r);
              a[lane][r] = block_values[blk * 128 + L::blk_value_index(e.row, e.col)];
            }
          for (int t = 0; t < nt; ++t) {
            for (int lane = 0; lane < 32; ++lane)
              for (int r = 0; r < 2; ++r) {
                const RowCol e = L::frag_b(lane, r);
                const int64_t k = col0 + e.row, nn = n0 + 8 * t + e.col;
                bf[lane][r] = k < cols && nn < n ? b[k * n + nn] : 0.0f;
              }
            double d[32][4];
            for (int lane = 0; lane < 32; ++lane)
              for (int i = 0; i < 4; ++i) d[lane][i] = acc[t][lane][i];
            mma3_emulated(d, a, bf);
            for (int lane = 0; lane < 32; ++lane)
              for (int i = 0; i < 4; ++i) acc[t][lane][i] = d[lane][i];
          }
        }
        for (int lane = 0; lane < 32; ++lane)
          for (int i = 0; i < 4; ++i) {
            const RowCol e = L::frag_c(lane, i);
            const int64_t br = panel * 16 + e.row;
            if (br >= rows) continue;
            const int64_t row = perm[br];
            for (int t = 0; t < nt; ++t) {
              const int64_t nn = n0 + 8 * t + e.col;
              if (nn < n) got[row * n + nn] = acc[t][lane][i], writes[row * n + nn]++;
            }
          }
      }
  bool once = true;
  for (int w : writes) once = once && w == 1;
  c.expect(once, "blocked emulation: every output written exactly once (permutation undone), " + std::to_string(rows) + "x" +
                     std::to_string(cols) + " N=" + std::to_string(n));
  return close(got, y, mag, why);
}

bool emulate_tiles(Ctx& c, std::mt19937& rng, int64_t rows, int64_t cols, int64_t n, std::string* why) {
  const Csr m = random_csr(rng, rows, cols, 0.2);
  std::vector<float> b(cols * n);
  std::uniform_real_distribution<float> u(-1, 1);
  for (auto& x : b) x = u(rng);
  std::vector<double> y, mag, got(rows * n, 0.0);
  std::vector<int> writes(rows * n, 0);
  reference(m, b, n, &y, &mag);
  const int nt = tk::spmm_cuda_configs::tile_tiles(n);
  const int SA = L::tile_a_stride(), SB = L::tile_b_stride(nt), BN = 8 * nt;
  std::vector<float> smem(L::tile_smem_floats(nt));
  float* as = smem.data();
  float* bs = smem.data() + L::kTileRows * SA;
  for (int64_t row0 = 0; row0 < rows; row0 += L::kTileRows) {
    std::vector<int64_t> cur(L::kTileRows, 0), end(L::kTileRows, 0);
    for (int t = 0; t < L::kTileRows; ++t)
      if (row0 + t < rows) cur[t] = m.ptr[row0 + t], end[t] = m.ptr[row0 + t + 1];
    std::vector<std::array<std::array<std::array<double, 4>, 32>, 8>> acc(L::kTileWarps);
    for (auto& w : acc)
      for (auto& t : w)
        for (auto& l : t) l.fill(0.0);
    for (int64_t k0 = 0; k0 < cols; k0 += L::kTileK) {
      bool any = false;
      for (int t = 0; t < L::kTileRows; ++t) any = any || (cur[t] < end[t] && m.col[cur[t]] < k0 + L::kTileK);
      if (!any) continue;
      std::fill(smem.begin(), smem.end(), -1e30f);  // poison: padding must never be read
      for (int i = 0; i < L::kTileRows * L::kTileK; ++i) as[(i / L::kTileK) * SA + i % L::kTileK] = 0.0f;
      for (int i = 0; i < L::kTileK * BN; ++i) {
        const int kk = i / BN, nn = i % BN;
        bs[kk * SB + nn] = k0 + kk < cols && nn < n ? b[(k0 + kk) * n + nn] : 0.0f;
      }
      for (int t = 0; t < L::kTileRows; ++t)
        while (cur[t] < end[t] && m.col[cur[t]] < k0 + L::kTileK) {
          as[t * SA + int(m.col[cur[t]] - k0)] += m.val[cur[t]];
          ++cur[t];
        }
      for (int warp = 0; warp < L::kTileWarps; ++warp)
        for (int kk = 0; kk < L::kTileK; kk += 8) {
          float a[32][4], bf[32][2];
          for (int lane = 0; lane < 32; ++lane)
            for (int r = 0; r < 4; ++r) {
              const RowCol e = L::frag_a(lane, r);
              a[lane][r] = as[(warp * 16 + e.row) * SA + kk + e.col];
            }
          for (int t = 0; t < nt; ++t) {
            for (int lane = 0; lane < 32; ++lane)
              for (int r = 0; r < 2; ++r) {
                const RowCol e = L::frag_b(lane, r);
                bf[lane][r] = bs[(kk + e.row) * SB + 8 * t + e.col];
              }
            double d[32][4];
            for (int lane = 0; lane < 32; ++lane)
              for (int i = 0; i < 4; ++i) d[lane][i] = acc[warp][t][lane][i];
            mma3_emulated(d, a, bf);
            for (int lane = 0; lane < 32; ++lane)
              for (int i = 0; i < 4; ++i) acc[warp][t][lane][i] = d[lane][i];
          }
        }
    }
    for (int warp = 0; warp < L::kTileWarps; ++warp)
      for (int lane = 0; lane < 32; ++lane)
        for (int i = 0; i < 4; ++i) {
          const RowCol e = L::frag_c(lane, i);
          const int64_t row = row0 + warp * 16 + e.row;
          if (row >= rows) continue;
          for (int t = 0; t < nt; ++t) {
            const int64_t nn = 8 * t + e.col;
            if (nn < n) got[row * n + nn] = acc[warp][t][lane][i], writes[row * n + nn]++;
          }
        }
  }
  bool once = true;
  for (int w : writes) once = once && w == 1;
  c.expect(once, "tiles emulation: every output written exactly once, " + std::to_string(rows) + "x" + std::to_string(cols) +
                     " N=" + std::to_string(n));
  return close(got, y, mag, why);
}

inline void run(Ctx c, std::mt19937& rng) {
  check_csr_lanes(c);
  check_chunks(c);
  check_fragments_and_banks(c);
  check_tf32(c, rng);
  const int64_t shapes[][3] = {{16, 8, 8}, {37, 61, 19}, {100, 200, 64}, {70, 33, 130}, {5, 300, 1}};
  for (auto& s : shapes) {
    std::string why;
    const bool blk_ok = emulate_blocked(c, rng, s[0], s[1], s[2], &why);
    c.expect(blk_ok, "blocked (SMaT) emulation vs reference " + std::to_string(s[0]) + "x" + std::to_string(s[1]) +
                         " N=" + std::to_string(s[2]) + ": " + why);
    if (s[2] <= 64) {
      why.clear();
      const bool tiles_ok = emulate_tiles(c, rng, s[0], s[1], s[2], &why);
      c.expect(tiles_ok, "tiles (Flash-LLM) emulation vs reference " + std::to_string(s[0]) + "x" + std::to_string(s[1]) +
                             " N=" + std::to_string(s[2]) + ": " + why);
    }
  }
}

}  // namespace spmm_cuda_checks

// Index math of the CUDA monarch kernel (monarch_cuda.cu), as plain functions that compile for the
// host too: the kernel calls them and the native self-test (native/tests/monarch_cuda_checks.h)
// emulates the whole grid with them on the CPU against the contract's formulas.
//
// Both block-diagonal products are one batched "C = A . B^T" with strides, one grid z-slice per block g:
//   C(g, m, n) = sum_kk A(g, m, kk) * B(g, n, kk),  m < rows (the batch), n < N, kk < K
//   stage 1 (g = i < k):  A = x[m, i*p + kk]      B = w1[i, n, kk]   C = u[m, i*q + n]   (u float32 [batch, k*q])
//   stage 2 (g = a < l):  A = u[m, kk*l + a]      B = w2[a, n, kk]   C = y[m, n*l + a]
// The CTA computes a kBM x kBN tile of C over K in kBK steps through shared memory; each of its
// kThreads threads owns kTM x kTN outputs, rows tm + 16 i and columns tn + 16 j (tm, tn = tid / 16,
// tid % 16) so that a warp's shared-memory reads are broadcasts or consecutive words.
#pragma once
#include <cstdint>

#if defined(__CUDACC__)
#define TK_MHD __host__ __device__ __forceinline__
#else
#define TK_MHD inline
#endif

namespace tk::cumonarch {

constexpr int kBM = 64, kBN = 64, kBK = 16, kThreads = 256, kTM = 4, kTN = 4;
static_assert(kThreads == (kBM / kTM) * (kBN / kTN), "one thread per kTM x kTN outputs");
static_assert((kBM * kBK) % kThreads == 0 && (kBN * kBK) % kThreads == 0, "whole rounds of tile loads");
constexpr int kLoadRounds = kBM * kBK / kThreads;  // loads per thread per operand tile (A and B alike)

// One stage's strides in elements; block g adds g * *_blk.
struct Stage {
  int64_t K, N;
  int64_t a_blk, lda, sak;  // A(g, m, kk) = a[g*a_blk + m*lda + kk*sak]
  int64_t b_blk, ldb;       // B(g, n, kk) = b[g*b_blk + n*ldb + kk]
  int64_t c_blk, ldc, scn;  // C(g, m, n) = c[g*c_blk + m*ldc + n*scn]
  int64_t blocks;
};

// x [batch, n], w1 [k, q, p] -> u [batch, k*q].
inline Stage stage1(int64_t n, int64_t k, int64_t q, int64_t p) { return Stage{p, q, p, n, 1, q * p, p, q, k * q, 1, k}; }
// u [batch, k*q = l*r], w2 [l, s, r] -> y [batch, l*s].
inline Stage stage2(int64_t l, int64_t s, int64_t r) { return Stage{r, s, 1, l * r, l, s * r, r, 1, l * s, l, l}; }

TK_MHD int64_t a_index(const Stage& st, int64_t g, int64_t m, int64_t kk) { return g * st.a_blk + m * st.lda + kk * st.sak; }
TK_MHD int64_t b_index(const Stage& st, int64_t g, int64_t n, int64_t kk) { return g * st.b_blk + n * st.ldb + kk; }
TK_MHD int64_t c_index(const Stage& st, int64_t g, int64_t m, int64_t n) { return g * st.c_blk + m * st.ldc + n * st.scn; }

struct RowCol {
  int row, col;
};

// The tile element (row, kk) that thread `tid` loads in round `round` (A: row = m, B: row = n):
// consecutive threads take consecutive kk, so weight rows (and x rows in stage 1) are read in
// 64-byte runs.
TK_MHD RowCol load_slot(int tid, int round) {
  const int e = tid + round * kThreads;
  return {e / kBK, e % kBK};
}

// The output (row, col) within the CTA tile of thread `tid`'s accumulator (i, j).
TK_MHD RowCol out_slot(int tid, int i, int j) { return {tid / (kBN / kTN) + (kBM / kTM) * i, tid % (kBN / kTN) + (kBN / kTN) * j}; }

// Shared tiles are [kBK][kBM + kPad] floats (A) and [kBK][kBN + kPad] (B); the pad staggers the
// stores of one warp (16 kk values x 2 rows) over the banks.
constexpr int kPad = 1;
TK_MHD int smem_a(int kk, int m) { return kk * (kBM + kPad) + m; }
TK_MHD int smem_b(int kk, int n) { return kk * (kBN + kPad) + n; }

}  // namespace tk::cumonarch

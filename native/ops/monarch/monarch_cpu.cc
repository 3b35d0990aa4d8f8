// The CPU monarch driver, on the GEMM microkernels (native/ops/gemm/gemm_kernels.h): both
// block-diagonal products are run transposed, u^T = w1 . x^T and y^T = w2 . u^T, so that every
// operand the permutation touches is a strided view the kernels' packing reads directly:
//   block i of u^T [k*q, R]:  rows i*q .. i*q+q  = w1[i] [q, p] . (x[b0.., i*p ..])^T  (x as op(B), ld n)
//   block a of y^T [l*s, R]:  rows d*l + a (ldc l*R) = w2[a] [s, r] . (rows c*l + a of u^T: ld l*R)
// The weights are packed once per call as A panels; each tile of R rows packs its x^T / u^T panels
// per block and transposes y^T into out (converting to out's dtype).
#include <algorithm>
#include <atomic>
#if defined(__SSE2__)
#include <immintrin.h>
#endif

#include "../../core/half.h"
#include "../../core/host_pool.h"
#include "../../core/kernel_record.h"
#include "../../core/scratch.h"
#include "../../core/thread_pool.h"
#include "../gemm/gemm_kernels.h"
#include "monarch.h"
#include "monarch_configs.h"

namespace tk {
namespace {

using gemm_kernels::BlockedKernels;
using gemm_kernels::Epilogue;
using gemm_kernels::Operand;

CpuKernelRecord g_ran;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
size_t eb(DType t) { return size_t(dtype_bits(t) / 8); }

// A weight [blocks, rows, K] packed as the kernels' A panels: block, then K block, then MR panel.
struct PackedWeight {
  const BlockedKernels<float>* k;
  int64_t rows, K, panels;
  size_t block_bytes;
  PooledBuffer buf;

  PackedWeight(const BlockedKernels<float>& kern, const TensorView& w) : k(&kern), rows(w.shape[1]), K(w.shape[2]) {
    panels = ceil_div(rows, k->mr);
    block_bytes = (offset(ceil_div(K, k->kc)) + 63) / 64 * 64;
    buf = PooledBuffer(std::max<size_t>(64, size_t(w.shape[0]) * block_bytes));
  }
  size_t offset(int64_t kb) const {  // bytes of K blocks before kb (all full)
    return size_t(kb) * size_t(panels) * k->a_panel_bytes(k->kc);
  }
  const char* panel(int64_t blk, int64_t kb, int64_t ir) const {
    const int64_t kcb = std::min<int64_t>(k->kc, K - kb * k->kc);
    return buf.as<char>() + blk * block_bytes + offset(kb) + (ir / k->mr) * k->a_panel_bytes(kcb);
  }
  Status pack(const TensorView& w) {
    const int64_t blocks = w.shape[0];
    return parallel_for(blocks, 1, [&](int64_t b0, int64_t b1) {
      for (int64_t blk = b0; blk < b1; ++blk) {
        const Operand A{static_cast<const char*>(w.data) + size_t(blk * rows * K) * eb(w.dtype), w.dtype, K, false};
        for (int64_t pc = 0; pc < K; pc += k->kc)
          k->pack_a(A, 0, rows, pc, std::min<int64_t>(k->kc, K - pc), const_cast<char*>(panel(blk, pc / k->kc, 0)));
      }
    });
  }
};

// C^T rows of one block: c[row * ldc + col] for row < rows (w's rows), col < cols, K = w's K, with
// B = op(B) [K, cols] packed from `b` into `bbuf`.
void block_product(const BlockedKernels<float>& k, const PackedWeight& w, int64_t blk, const Operand& b, int64_t cols, char* bbuf, float* c,
                   int64_t ldc) {
  Epilogue<float> e;
  for (int64_t pc = 0; pc < w.K; pc += k.kc) {
    const int64_t kcb = std::min<int64_t>(k.kc, w.K - pc), kb = pc / k.kc;
    e.first = pc == 0;
    e.last = pc + kcb >= w.K;
    k.pack_b(b, pc, kcb, 0, cols, bbuf);
    const size_t bpb = k.b_panel_bytes(kcb);
    for (int64_t ir = 0; ir < w.rows; ir += k.mr) {
      const char* ap = w.panel(blk, kb, ir);
      const int mr = static_cast<int>(std::min<int64_t>(k.mr, w.rows - ir));
      for (int64_t jr = 0; jr < cols; jr += k.nr)
        k.ukr(kcb, ap, bbuf + (jr / k.nr) * bpb, c + ir * ldc + jr, ldc, mr, static_cast<int>(std::min<int64_t>(k.nr, cols - jr)), e);
    }
  }
}

// out[b0 + b, m] = yt[m * ld + b] for b < rows, m in [m0, m1), converted to out's dtype.
template <class T, class Cvt>
void transpose_out(const float* yt, int64_t ld, int64_t rows, int64_t m0, int64_t m1, T* out, int64_t ldo, Cvt cvt) {
  constexpr int64_t kB = 16;
  for (int64_t mb = m0; mb < m1; mb += kB)
    for (int64_t bb = 0; bb < rows; bb += kB) {
      const int64_t me = std::min(m1, mb + kB), be = std::min(rows, bb + kB);
      for (int64_t b = bb; b < be; ++b)
        for (int64_t m = mb; m < me; ++m) out[b * ldo + m] = cvt(yt[m * ld + b]);
    }
}

// float32 out: 4 x 4 blocks through SSE registers (the x86-64 baseline), 4x the scalar copy's rate.
void transpose_f32(const float* yt, int64_t ld, int64_t rows, int64_t m0, int64_t m1, float* out, int64_t ldo) {
#if defined(__SSE2__)
  const int64_t r4 = rows / 4 * 4, m4 = m0 + (m1 - m0) / 4 * 4;
  constexpr int64_t kB = 64;  // columns of out per pass: 4 rows of out x 256 B stay in L1
  for (int64_t mb = m0; mb < m4; mb += kB) {
    const int64_t me = std::min(m4, mb + kB);
    for (int64_t b = 0; b < r4; b += 4)
      for (int64_t m = mb; m < me; m += 4) {
        __m128 r0 = _mm_loadu_ps(yt + m * ld + b), r1 = _mm_loadu_ps(yt + (m + 1) * ld + b);
        __m128 r2 = _mm_loadu_ps(yt + (m + 2) * ld + b), r3 = _mm_loadu_ps(yt + (m + 3) * ld + b);
        _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
        _mm_storeu_ps(out + b * ldo + m, r0);
        _mm_storeu_ps(out + (b + 1) * ldo + m, r1);
        _mm_storeu_ps(out + (b + 2) * ldo + m, r2);
        _mm_storeu_ps(out + (b + 3) * ldo + m, r3);
      }
  }
  auto id = [](float v) { return v; };
  if (r4 < rows) transpose_out(yt + r4, ld, rows - r4, m0, m1, out + r4 * ldo, ldo, id);
  if (m4 < m1) transpose_out(yt, ld, r4, m4, m1, out, ldo, id);
#else
  transpose_out(yt, ld, rows, m0, m1, out, ldo, [](float v) { return v; });
#endif
}

void write_out(const float* yt, int64_t ld, int64_t rows, int64_t m0, int64_t m1, const TensorView& out, int64_t b0, int64_t ls) {
  switch (out.dtype) {
    case DType::kFloat16: return transpose_out(yt, ld, rows, m0, m1, out.as<uint16_t>() + b0 * ls, ls, f32_to_f16);
    case DType::kBFloat16: return transpose_out(yt, ld, rows, m0, m1, out.as<uint16_t>() + b0 * ls, ls, f32_to_bf16);
    default: return transpose_f32(yt, ld, rows, m0, m1, out.as<float>() + b0 * ls, ls);
  }
}

struct Run {
  const MonarchParams* p;
  const MonarchShape* s;
  const BlockedKernels<float>* k;
  const PackedWeight *w1, *w2;
  int64_t R;  // rows per tile (ut / yt row length)

  // Stage 1, blocks [i0, i1) of u^T for the rows [b0, b0 + rows).
  void stage1(int64_t b0, int64_t rows, int64_t i0, int64_t i1, float* ut, char* bbuf) const {
    const char* x = static_cast<const char*>(p->x.data);
    for (int64_t i = i0; i < i1; ++i) {
      const Operand xt{x + size_t(b0 * s->n + i * s->p) * eb(p->x.dtype), p->x.dtype, s->n, true};
      block_product(*k, *w1, i, xt, rows, bbuf, ut + i * s->q * R, R);
    }
  }
  // Stage 2, blocks [a0, a1) of y^T.
  void stage2(int64_t rows, int64_t a0, int64_t a1, const float* ut, float* yt, char* bbuf) const {
    for (int64_t a = a0; a < a1; ++a) {
      const Operand v{ut + a * R, DType::kFloat32, s->l * R, false};
      block_product(*k, *w2, a, v, rows, bbuf, yt + a * R, s->l * R);
    }
  }
};

void zero_out(const TensorView& out) { std::fill_n(static_cast<char*>(out.data), out.nbytes(), char(0)); }

}  // namespace

Status monarch_cpu(const MonarchParams& p, const MonarchShape& s) {
  if (s.batch == 0 || s.n_out() == 0) return Status::Ok();
  if (s.p == 0 || s.r == 0) {  // an empty sum: y = 0
    g_ran.set("zero (empty inner dim)");
    zero_out(p.out);
    return Status::Ok();
  }
  SerialScope serial(s.flops() < kSerialWork);
  const BlockedKernels<float>& k = gemm_kernels::active_kernels().f32;
  g_ran.set(k.name);
  PackedWeight w1(k, p.w1), w2(k, p.w2);
  TK_RETURN_IF_ERROR(w1.pack(p.w1));
  TK_RETURN_IF_ERROR(w2.pack(p.w2));
  const int64_t kq = s.k * s.q, ls = s.n_out();
  const int64_t R = monarch_config::tile_rows(kq, ls, k.nr);
  const Run run{&p, &s, &k, &w1, &w2, R};
  const size_t b_bytes = size_t(ceil_div(R, k.nr)) * k.b_panel_bytes(std::min<int64_t>(k.kc, std::max(s.p, s.r)));
  const size_t t_bytes = size_t((kq + ls) * R) * sizeof(float);
  const int64_t tiles = ceil_div(s.batch, R);
  const int nt = num_threads();

  if (tiles >= nt) {  // whole tiles per thread, taken dynamically
    std::atomic<int64_t> next{0};
    return parallel_run(static_cast<int>(std::min<int64_t>(tiles, nt)), [&](int, int) {
      char* bbuf = static_cast<char*>(thread_scratch(ScratchSlot::kPackB, b_bytes));
      float* ut = static_cast<float*>(thread_scratch(ScratchSlot::kWork, t_bytes));
      float* yt = ut + kq * R;
      for (int64_t t = next++; t < tiles; t = next++) {
        const int64_t b0 = t * R, rows = std::min(R, s.batch - b0);
        run.stage1(b0, rows, 0, s.k, ut, bbuf);
        run.stage2(rows, 0, s.l, ut, yt, bbuf);
        write_out(yt, R, rows, 0, ls, p.out, b0, ls);
      }
    });
  }
  // Fewer tiles than threads (small batches): each tile's blocks shared out, one region per stage.
  PooledBuffer tile(t_bytes);
  float* ut = tile.as<float>();
  float* yt = ut + kq * R;
  for (int64_t b0 = 0; b0 < s.batch; b0 += R) {
    const int64_t rows = std::min(R, s.batch - b0);
    TK_RETURN_IF_ERROR(parallel_for(s.k, 1, [&](int64_t i0, int64_t i1) {
      run.stage1(b0, rows, i0, i1, ut, static_cast<char*>(thread_scratch(ScratchSlot::kPackB, b_bytes)));
    }));
    TK_RETURN_IF_ERROR(parallel_for(s.l, 1, [&](int64_t a0, int64_t a1) {
      run.stage2(rows, a0, a1, ut, yt, static_cast<char*>(thread_scratch(ScratchSlot::kPackB, b_bytes)));
    }));
    TK_RETURN_IF_ERROR(parallel_for(ls, 64, [&](int64_t m0, int64_t m1) { write_out(yt, R, rows, m0, m1, p.out, b0, ls); }));
  }
  return Status::Ok();
}

std::string monarch_last_kernel(const std::string& device) { return device == "cuda" ? monarch_cuda_last_kernel() : g_ran.get(); }

}  // namespace tk

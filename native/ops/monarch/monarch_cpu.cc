// The CPU monarch driver, on the GEMM microkernels (native/ops/gemm/gemm_kernels.h): both
// block-diagonal products are run transposed, u^T = w1 . x^T and y^T = w2 . u^T, so that every
// operand the permutation touches is a strided view the kernels' packing reads directly:
//   block i of u^T [k*q, R]:  rows i*q .. i*q+q  = w1[i] [q, p] . (x[b0.., i*p ..])^T  (x as op(B), ld n)
//   block a of y^T [l*s, R]:  rows d*l + a (ldc l*R) = w2[a] [s, r] . (rows c*l + a of u^T: ld l*R)
// The weights are packed once per call as A panels; each tile of R rows packs its x^T / u^T panels
// per block and transposes y^T into out (converting to out's dtype).
#include <algorithm>
#include <atomic>
#include <memory>
#include <thread>
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
// float32 outputs this large are written with non-temporal stores (see transpose_f32).
constexpr size_t kStreamBytes = size_t(8) << 20;
// Floats of the largest microkernel tile (avx512 12 x 32 = 384).
constexpr int kMaxTile = 512;

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
  void pack_block(const TensorView& w, int64_t blk) const {
    const Operand A{static_cast<const char*>(w.data) + size_t(blk * rows * K) * eb(w.dtype), w.dtype, K, false};
    for (int64_t pc = 0; pc < K; pc += k->kc)
      k->pack_a(A, 0, rows, pc, std::min<int64_t>(k->kc, K - pc), const_cast<char*>(panel(blk, pc / k->kc, 0)));
  }
  Status pack(const TensorView& w) const {
    return parallel_for(w.shape[0], 1, [&](int64_t b0, int64_t b1) {
      for (int64_t blk = b0; blk < b1; ++blk) pack_block(w, blk);
    });
  }
};

// One MR x NR microkernel tile whose mr rows go to row(t), t < mr (NR columns each, all of them in
// bounds: the callers pad columns, never rows). Rows equally spaced (`direct`, ldc apart) of a whole
// tile go straight to the kernel; the rest (a partial row panel, rows that wrap around the
// permutation) through an L1 tile and a row copy -- the kernel's own edge path stores element by
// element through the scalar epilogue (64 rows = 5 x 12 + 4 at n = 4096: ~5% of a call).
template <class Row>
void tile(const BlockedKernels<float>& k, int64_t kcb, const char* ap, const char* bp, int mr, bool first, float* direct, int64_t ldc,
          Row row) {
  Epilogue<float> e;
  e.first = first;
  if (direct != nullptr && mr == k.mr) return k.ukr(kcb, ap, bp, direct, ldc, mr, k.nr, e);
  alignas(64) float t[kMaxTile];
  e.first = true;
  k.ukr(kcb, ap, bp, t, k.nr, k.mr, k.nr, e);
  for (int i = 0; i < mr; ++i) {
    float* d = row(i);
    const float* s = t + i * k.nr;
    if (first)
      std::copy_n(s, k.nr, d);
    else
      for (int j = 0; j < k.nr; ++j) d[j] += s[j];
  }
}

// x^T [K block of kc, cols] as B panels ([cols / NR][kc][NR], zero past cols), x float32 rows ld
// apart starting at column k0. The kernels' pack_b walks all NR rows at once, 16 bytes each: rows of
// x 16 KB apart (n = 4096) share one L1 set, so each line came in four times (pack_b was 16% of a
// call). Here four rows at a time are read whole (4 x 4 SSE transposes), and the next kc floats of
// each row -- what the next call (the next block or K block) reads -- are prefetched: 256 bytes of
// 64 rows 16 KB apart is no stream the hardware prefetchers follow, and the loads waited on DRAM.
void pack_xt(const float* x, int64_t ld, int64_t k0, int64_t kc, int64_t cols, int nr, float* dst) {
  for (int64_t j0 = 0; j0 < cols; j0 += nr, dst += kc * nr) {
    const int64_t c = std::min<int64_t>(nr, cols - j0);
    int j = 0;
#if defined(__SSE2__)
    for (; j + 4 <= c; j += 4) {
      const float* s = x + (j0 + j) * ld + k0;
      int64_t k = 0;
      for (; k + 4 <= kc; k += 4) {
        __m128 r0 = _mm_loadu_ps(s + k), r1 = _mm_loadu_ps(s + ld + k), r2 = _mm_loadu_ps(s + 2 * ld + k),
               r3 = _mm_loadu_ps(s + 3 * ld + k);
        _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
        _mm_storeu_ps(dst + k * nr + j, r0);
        _mm_storeu_ps(dst + (k + 1) * nr + j, r1);
        _mm_storeu_ps(dst + (k + 2) * nr + j, r2);
        _mm_storeu_ps(dst + (k + 3) * nr + j, r3);
      }
      for (; k < kc; ++k)
        for (int t = 0; t < 4; ++t) dst[k * nr + j + t] = s[t * ld + k];
      for (int t = 0; t < 4; ++t)
        for (int64_t o = kc; o < 2 * kc; o += 16) _mm_prefetch(reinterpret_cast<const char*>(s + t * ld + o), _MM_HINT_T0);
    }
#endif
    for (; j < nr; ++j)
      for (int64_t k = 0; k < kc; ++k) dst[k * nr + j] = j < c ? x[(j0 + j) * ld + k0 + k] : 0.0f;
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
// `stream`: non-temporal stores (16-byte aligned rows only). The stores of a fresh 16 MB out (n =
// 4096, batch 1024) were most of this function's 10% of a call, each line read for ownership from
// DRAM before being overwritten; streamed, the call took 0.91-0.94x the time (interleaved, 2
// threads). The cost: out is not left in the cache, which at 8 MB and up it mostly would not be.
void transpose_f32(const float* yt, int64_t ld, int64_t rows, int64_t m0, int64_t m1, float* out, int64_t ldo, bool stream) {
#if defined(__SSE2__)
  if (stream && (reinterpret_cast<uintptr_t>(out + m0) % 16 != 0 || ldo % 4 != 0)) stream = false;
  auto st = [stream](float* p, __m128 v) { stream ? _mm_stream_ps(p, v) : _mm_storeu_ps(p, v); };
  const int64_t r4 = rows / 4 * 4, m4 = m0 + (m1 - m0) / 4 * 4;
  constexpr int64_t kB = 64;  // columns of out per pass: 4 rows of out x 256 B stay in L1
  for (int64_t mb = m0; mb < m4; mb += kB) {
    const int64_t me = std::min(m4, mb + kB);
    for (int64_t b = 0; b < r4; b += 4)
      for (int64_t m = mb; m < me; m += 4) {
        __m128 r0 = _mm_loadu_ps(yt + m * ld + b), r1 = _mm_loadu_ps(yt + (m + 1) * ld + b);
        __m128 r2 = _mm_loadu_ps(yt + (m + 2) * ld + b), r3 = _mm_loadu_ps(yt + (m + 3) * ld + b);
        _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
        st(out + b * ldo + m, r0);
        st(out + (b + 1) * ldo + m, r1);
        st(out + (b + 2) * ldo + m, r2);
        st(out + (b + 3) * ldo + m, r3);
      }
  }
  if (stream) _mm_sfence();
  auto id = [](float v) { return v; };
  if (r4 < rows) transpose_out(yt + r4, ld, rows - r4, m0, m1, out + r4 * ldo, ldo, id);
  if (m4 < m1) transpose_out(yt, ld, r4, m4, m1, out, ldo, id);
#else
  (void)stream;
  transpose_out(yt, ld, rows, m0, m1, out, ldo, [](float v) { return v; });
#endif
}

void write_out(const float* yt, int64_t ld, int64_t rows, int64_t m0, int64_t m1, const TensorView& out, int64_t b0, int64_t ls,
               bool stream) {
  switch (out.dtype) {
    case DType::kFloat16: return transpose_out(yt, ld, rows, m0, m1, out.as<uint16_t>() + b0 * ls, ls, f32_to_f16);
    case DType::kBFloat16: return transpose_out(yt, ld, rows, m0, m1, out.as<uint16_t>() + b0 * ls, ls, f32_to_bf16);
    default: return transpose_f32(yt, ld, rows, m0, m1, out.as<float>() + b0 * ls, ls, stream);
  }
}

struct Run {
  const MonarchParams* p;
  const MonarchShape* s;
  const BlockedKernels<float>* k;
  const PackedWeight *w1, *w2;
  int64_t R;   // rows per tile: a multiple of NR, so R / NR whole column panels
  int64_t vb;  // floats of one block of v: r * R
  // Per weight block (w1's k, then w2's l): packed yet. Null when packed before the region.
  const std::atomic<bool>* ready;

  void wait(int64_t j) const {
    if (ready != nullptr)
      while (!ready[j].load(std::memory_order_acquire)) std::this_thread::yield();
  }

  // v: u^T for the tile, kept as stage 2's B operand -- block a is rows c*l + a (c < r) of u^T,
  // laid out as the kernels' float B panels ([K block][R / NR][kcb][NR]). Stage 1 writes its tiles
  // there, so stage 2 packs nothing (packing u^T was half of pack_b's 16% of a call). The address
  // of row c, column panel P of block a:
  float* v_at(float* v, int64_t a, int64_t c, int64_t P) const {
    const int64_t kb = c / k->kc, kcb = std::min<int64_t>(k->kc, s->r - kb * k->kc);
    return v + a * vb + kb * k->kc * R + P * kcb * k->nr + (c - kb * k->kc) * k->nr;
  }

  // Stage 1, blocks [i0, i1) of u^T for the rows [b0, b0 + rows) of x, into v. Row g = i*q + j of
  // u^T is row c = g / l of block a = g % l: a tile's rows are vb floats apart unless they wrap.
  void stage1(int64_t b0, int64_t rows, int64_t i0, int64_t i1, float* v, float* xb) const {
    const char* x = static_cast<const char*>(p->x.data);
    const int64_t panels = ceil_div(rows, k->nr), l = s->l;
    for (int64_t i = i0; i < i1; ++i)
      for (int64_t pc = (wait(i), 0); pc < s->p; pc += k->kc) {
        const int64_t kcb = std::min<int64_t>(k->kc, s->p - pc), kb = pc / k->kc;
        const size_t at = size_t(b0 * s->n + i * s->p);
        if (p->x.dtype == DType::kFloat32)
          pack_xt(p->x.as<float>() + at, s->n, pc, kcb, rows, k->nr, xb);
        else
          k->pack_b(Operand{x + at * eb(p->x.dtype), p->x.dtype, s->n, true}, pc, kcb, 0, rows, xb);
        for (int64_t ir = 0; ir < s->q; ir += k->mr) {
          const char* ap = w1->panel(i, kb, ir);
          const int mr = static_cast<int>(std::min<int64_t>(k->mr, s->q - ir));
          const int64_t g0 = i * s->q + ir;
          const bool straight = g0 % l + mr <= l;
          for (int64_t P = 0; P < panels; ++P)
            tile(*k, kcb, ap, reinterpret_cast<const char*>(xb + P * kcb * k->nr), mr, pc == 0,
                 straight ? v_at(v, g0 % l, g0 / l, P) : nullptr, vb, [&](int t) { return v_at(v, (g0 + t) % l, (g0 + t) / l, P); });
        }
      }
  }
  // Stage 2, blocks [a0, a1) of y^T [l*s, R] (row d*l + a).
  void stage2(int64_t rows, int64_t a0, int64_t a1, float* v, float* yt) const {
    const int64_t panels = ceil_div(rows, k->nr), ld = s->l * R;
    for (int64_t a = a0; a < a1; ++a)
      for (int64_t pc = (wait(s->k + a), 0); pc < s->r; pc += k->kc) {
        const int64_t kcb = std::min<int64_t>(k->kc, s->r - pc), kb = pc / k->kc;
        const float* bk = v + a * vb + kb * k->kc * R;
        for (int64_t ir = 0; ir < s->s; ir += k->mr) {
          const char* ap = w2->panel(a, kb, ir);
          const int mr = static_cast<int>(std::min<int64_t>(k->mr, s->s - ir));
          float* c = yt + (ir * s->l + a) * R;
          for (int64_t P = 0; P < panels; ++P)
            tile(*k, kcb, ap, reinterpret_cast<const char*>(bk + P * kcb * k->nr), mr, pc == 0, c + P * k->nr, ld,
                 [&](int t) { return c + t * ld + P * k->nr; });
        }
      }
  }
};

// f32, or f32_mr8 where its smaller MR computes fewer padded weight rows (k x q and l x s in blocks):
// n = 4096 as 64 blocks of 64 computes 64 rows per block on 8x32 where 12x32 computed 72.
const BlockedKernels<float>& pick_kernels(const gemm_kernels::IsaKernels& isa, const MonarchShape& s) {
  auto padded = [&](const BlockedKernels<float>& k) { return s.k * ceil_div(s.q, k.mr) * k.mr + s.l * ceil_div(s.s, k.mr) * k.mr; };
  return isa.f32_mr8.name != nullptr && padded(isa.f32_mr8) < padded(isa.f32) ? isa.f32_mr8 : isa.f32;
}

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
  const BlockedKernels<float>& k = pick_kernels(gemm_kernels::active_kernels(), s);
  g_ran.set(k.name);
  if (k.mr * k.nr > kMaxTile) return Internal("monarch: microkernel tile larger than kMaxTile");
  const PackedWeight w1(k, p.w1), w2(k, p.w2);
  const int64_t kq = s.k * s.q, ls = s.n_out();
  const int64_t R = monarch_config::tile_rows(kq, ls, k.nr);
  Run run{&p, &s, &k, &w1, &w2, R, s.r * R, nullptr};
  const size_t b_bytes = size_t(ceil_div(R, k.nr)) * k.b_panel_bytes(std::min<int64_t>(k.kc, s.p));
  const size_t t_bytes = size_t((kq + ls) * R) * sizeof(float);
  const int64_t tiles = ceil_div(s.batch, R);
  const int nt = num_threads();
  const bool stream = p.out.nbytes() >= kStreamBytes;

  if (tiles >= nt) {  // whole tiles per thread, taken dynamically
    // The weights are packed in the same region, block by block, by whichever thread comes first;
    // a block not packed yet is waited for. Two packing regions before it cost ~4% of a call
    // (n = 4096, batch 1024, 2 threads) waiting for the second thread to wake, twice.
    const int64_t nw = s.k + s.l;
    std::unique_ptr<std::atomic<bool>[]> ready(new std::atomic<bool>[size_t(nw)]());
    run.ready = ready.get();
    std::atomic<int64_t> next{0}, next_w{0};
    return parallel_run(static_cast<int>(std::min<int64_t>(tiles, nt)), [&](int, int) {
      for (int64_t j = next_w++; j < nw; j = next_w++) {
        if (j < s.k)
          w1.pack_block(p.w1, j);
        else
          w2.pack_block(p.w2, j - s.k);
        ready[j].store(true, std::memory_order_release);
      }
      float* xb = static_cast<float*>(thread_scratch(ScratchSlot::kPackB, b_bytes));
      float* ut = static_cast<float*>(thread_scratch(ScratchSlot::kWork, t_bytes));
      float* yt = ut + kq * R;
      for (int64_t t = next++; t < tiles; t = next++) {
        const int64_t b0 = t * R, rows = std::min(R, s.batch - b0);
        run.stage1(b0, rows, 0, s.k, ut, xb);
        run.stage2(rows, 0, s.l, ut, yt);
        write_out(yt, R, rows, 0, ls, p.out, b0, ls, stream);
      }
    });
  }
  // Fewer tiles than threads (small batches): each tile's blocks shared out, one region per stage.
  TK_RETURN_IF_ERROR(w1.pack(p.w1));
  TK_RETURN_IF_ERROR(w2.pack(p.w2));
  PooledBuffer tile(t_bytes);
  float* ut = tile.as<float>();
  float* yt = ut + kq * R;
  for (int64_t b0 = 0; b0 < s.batch; b0 += R) {
    const int64_t rows = std::min(R, s.batch - b0);
    TK_RETURN_IF_ERROR(parallel_for(s.k, 1, [&](int64_t i0, int64_t i1) {
      run.stage1(b0, rows, i0, i1, ut, static_cast<float*>(thread_scratch(ScratchSlot::kPackB, b_bytes)));
    }));
    TK_RETURN_IF_ERROR(parallel_for(s.l, 1, [&](int64_t a0, int64_t a1) { run.stage2(rows, a0, a1, ut, yt); }));
    TK_RETURN_IF_ERROR(parallel_for(ls, 64, [&](int64_t m0, int64_t m1) { write_out(yt, R, rows, m0, m1, p.out, b0, ls, stream); }));
  }
  return Status::Ok();
}

std::string monarch_last_kernel(const std::string& device) { return device == "cuda" ? monarch_cuda_last_kernel() : g_ran.get(); }

}  // namespace tk

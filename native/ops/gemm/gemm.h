// gemm: out = alpha * op(A) @ op(B) + beta * C (+ bias per column).
//   A [M,K] (or [K,M] with trans_a), B [K,N] (or [N,K] with trans_b); rank 2, or rank 3 = a strided
//   batch (a rank-2 operand is shared by every batch entry). float32 / float16 / bfloat16 inputs
//   accumulate in float32; int8 x int8 accumulates exactly in int32.
#pragma once
#include <cstdint>
#include <string>

#include "../../core/status.h"
#include "../../core/tensor_view.h"

namespace tk {

struct GemmParams {
  TensorView a, b;
  TensorView c;     // optional (ndim == -1): [M,N] or [batch,M,N]; may be the same storage as out
  TensorView bias;  // optional (ndim == -1): [N]
  TensorView out;   // [M,N] or [batch,M,N]
  bool trans_a = false, trans_b = false;
  float alpha = 1.0f, beta = 0.0f;
  // float32 inputs on a GPU: allow TF32 tensor cores (precision: 'tf32'); otherwise exact fp32 FMA.
  bool allow_tf32 = false;
  // Host tensors only: run on this CUDA device (copy in, compute, copy out); -1 = on the CPU.
  int run_device = -1;
  // Optional (ndim == -1): B packed ahead by gemm_pack_b (packWeights) in the layout named by
  // packed_layout. The CPU blocked kernels read it instead of packing b when the layout is the one
  // they would pack now; anything else (another ISA or block config, the skinny and CUDA paths)
  // reads b, which stays the source of truth -- a stale packing costs speed, never correctness.
  TensorView packed_b = [] {
    TensorView t;
    t.ndim = -1;
    return t;
  }();
  std::string packed_layout;
  // Internal, int8 on the CPU only (int8mm's fused epilogue): called once for every finished region
  // of out -- batch entry, rows [i0, i0 + rows), columns [j0, j0 + cols), its last K block added --
  // right after the kernel wrote it, while it is still in cache (a microkernel tile on the blocked
  // paths, a column chunk on the skinny one). It may rewrite the region in place (int32 -> float32).
  // Calls come from the pool's threads, for disjoint regions. Null: none.
  void (*on_done)(void* ctx, int64_t batch, int64_t i0, int64_t j0, int64_t rows, int64_t cols) = nullptr;
  void* on_done_ctx = nullptr;
  // Internal, int8 with trans_b on the CPU only (W4A4 / W4A8 in weight groups), where
  // gemm_cpu_grouped_fits(group_size, K): out (an int32 view, as for every int8 gemm) is written as
  // float32: out[m, n] = sum_g group_scales[g * N + n] * (the exact int32 sum over group g of K), groups added in
  // order in float32 (fma). No c, bias, batch or packed B. 0: off.
  const float* group_scales = nullptr;
  int64_t group_size = 0;
  // Internal, CPU only (int4Matmul's many-row path): b is int4 [N, K] with trans_b, a float32, and
  // op(b) is (q - z) * s in float32 per group of int4_group along K (int4_scales [N, K / int4_group],
  // int4_zeros the same or null), dequantized as gemm packs its float panels. No batch.
  const float* int4_scales = nullptr;
  const int8_t* int4_zeros = nullptr;
  int64_t int4_group = 0;
};
// Whether the CPU's grouped int8 kernels (GemmParams::group_size) take groups of `group_size` over K
// on the active ISA and block config.
bool gemm_cpu_grouped_fits(int64_t group_size, int64_t K);

// The layout gemm_pack_b writes for op(B) [K, N] of `dtype` on the active ISA: `id` names the kernel
// and its blocks (empty: no packed path for this dtype), `bytes` its size.
struct PackedLayout {
  std::string id;
  int64_t bytes = 0;
};
PackedLayout gemm_packed_layout(DType dtype, int64_t K, int64_t N);
// Packs op(b) (b rank 2, [K, N] or with trans_b [N, K]) into `dst` (a CPU tensor of exactly
// layout.bytes bytes, any dtype) for the layout named `layout`; an error if that is not the current
// one or the sizes disagree.
Status gemm_pack_b(const TensorView& b, bool trans_b, const TensorView& dst, const std::string& layout);

// Sizes and per-batch element strides derived from the params (0 stride = shared operand).
struct GemmShape {
  int64_t batch = 1, M = 0, N = 0, K = 0;
  int64_t stride_a = 0, stride_b = 0, stride_c = 0, stride_out = 0;
  int64_t lda = 0, ldb = 0;  // row strides of A and B as stored
};

// Checks ranks, sizes, dtypes and devices -- what memory safety needs -- and fills the shape. The
// contract's other rules (int8 takes alpha = 1 and beta 0 or 1, ...) are lib/ops/gemm.ts's alone.
Status gemm_validate(const GemmParams& p, GemmShape* s);
// Validates, then runs.
Status gemm(const GemmParams& p);
// Runs params gemm_validate accepted, with the shape it filled (the binding validates once, when the
// call is made).
Status gemm_run(const GemmParams& p, const GemmShape& s);
Status gemm_cpu(const GemmParams& p, const GemmShape& s);
// Every tensor on CUDA device `device` (gemm_cuda.cu; the CPU-only build answers ERR_TK_NO_GPU).
Status gemm_cuda(const GemmParams& p, const GemmShape& s, int device);
// Host tensors, computed on CUDA device `device`: operands copied in, the result copied out; device
// memory is freed on every path.
Status gemm_cuda_host(const GemmParams& p, const GemmShape& s, int device);

// Which CUDA kernel tier gemm_cuda may use at most ("auto" = the best the device has, "sm90",
// "sm80", "simt") and a forced split-K slice count (0 = automatic), for tests and benches; the
// TENSORKERN_GEMM_KERNEL environment variable sets the initial tier. False for an unknown name.
bool gemm_cuda_set_path(const char* tier, int splits);
// The kernel the last gemm_cuda call ran (e.g. "sm80_128x128x64B_4st bf16 NT splitk=1").
std::string gemm_cuda_last_kernel();

// The kernel gemm_cpu last ran (its table's name for it; "" before any).
const char* gemm_cpu_last_kernel();

// The test and bench hooks (native/core/op_hooks.h): paths "auto" | "wide" | "split" | "xeon" on the
// CPU (the cache-block configs), "auto" | "sm90" | "sm80" | "simt" with splits 0..64 on CUDA.
Status gemm_set_path(const std::string& device, const std::string& path, int splits, std::string* in_use);
std::string gemm_last_kernel(const std::string& device);

// The AVX-512 cache-block configs (gemm_configs.h): "wide" on cores with two full-width 512-bit FMA
// pipes, "xeon" on Intel Sapphire / Emerald Rapids, "split" elsewhere, "auto" to choose from the CPU
// again (TENSORKERN_GEMM_BLOCKS sets the initial value). False for an unknown name.
// gemm_cpu_blocks() says which is in use.
bool gemm_cpu_set_blocks(const std::string& mode);
const char* gemm_cpu_blocks();

// The plain (untiled, unvectorized) triple loop: the bench's own baseline and a cross-check.
Status gemm_plain(const GemmParams& p, const GemmShape& s);

}  // namespace tk

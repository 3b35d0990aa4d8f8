// monarch: y = x @ M^T for a Monarch matrix M = (block-diagonal w2) . P . (block-diagonal w1), the
// second version of the Monarch authors' blockdiag_butterfly_multiply (docs/monarch.md):
//   x [batch, n] (rank >= 1, every leading dim a batch dim), w1 [k, q, p] with n = k * p,
//   w2 [l, s, r] with l * r = k * q; out [batch, l * s] (x's leading dims, then l * s):
//     u[b, i*q + j] = sum_{t < p} w1[i, j, t] * x[b, i*p + t]        (i < k, j < q)
//     y[b, d*l + a] = sum_{c < r} w2[a, d, c] * u[b, c*l + a]        (a < l, d < s)
//   x, w1, w2 float32 / float16 / bfloat16 (any mix), accumulated in float32 (u is kept in float32);
//   out float32, float16 or bfloat16, never overlapping an input (the facade checks; the kernels
//   read x while they write out). Nothing is read from tensor values at run time.
// monarch_project: the closest Monarch factors (Frobenius norm) of a dense W [nOut, nIn] with
//   `blocks` blocks on each side (k = l = blocks, p = nIn / blocks, s = nOut / blocks, q = l, r = k):
//   W[d*l + a, i*p + t] = w2[a, d, i] * w1[i, a, t], so each (a, i) sub-block of W is rank one and
//   its best rank-one approximation (the top singular pair) gives the factors.
#pragma once
#include <cstdint>
#include <string>

#include "../../core/status.h"
#include "../../core/tensor_view.h"

namespace tk {

struct MonarchParams {
  TensorView x, w1, w2, out;
};

struct MonarchShape {
  int64_t batch = 0, n = 0;
  int64_t k = 0, q = 0, p = 0;  // w1
  int64_t l = 0, s = 0, r = 0;  // w2
  int64_t n_out() const { return l * s; }
  // Multiply-adds of the two block-diagonal products, times two.
  double flops() const { return 2.0 * double(batch) * double(k * q * p + l * s * r); }
};

// Ranks, sizes, dtypes and devices -- what memory safety needs -- and the shape.
Status monarch_validate(const MonarchParams& p, MonarchShape* s);
Status monarch(const MonarchParams& p);
// Runs params monarch_validate accepted, with its shape.
Status monarch_run(const MonarchParams& p, const MonarchShape& s);
// On the CPU: the two block-diagonal products on the CPU GEMM microkernels (gemm_kernels.h).
Status monarch_cpu(const MonarchParams& p, const MonarchShape& s);
// Every tensor on CUDA device `device` (monarch_cuda.cu; the CPU-only build answers ERR_TK_NO_GPU).
// Opt-in until it has run on a GPU: ERR_TK_UNSUPPORTED unless the path is "simt".
Status monarch_cuda(const MonarchParams& p, const MonarchShape& s, int device);

// Debug hooks (native/core/op_hooks.h): "auto" on the CPU; "auto" (= off until verified on a GPU)
// or "simt" on CUDA (TENSORKERN_MONARCH_KERNEL sets the initial value).
Status monarch_set_path(const std::string& device, const std::string& path, int splits, std::string* in_use);
std::string monarch_last_kernel(const std::string& device);
bool monarch_cuda_enabled();
bool monarch_cuda_set_enabled(const std::string& path);
std::string monarch_cuda_last_kernel();

struct MonarchProjectParams {
  TensorView w;       // [nOut, nIn], float32 / float16 / bfloat16, host
  TensorView w1, w2;  // float32 [blocks, blocks, nIn / blocks], [blocks, nOut / blocks, blocks]
  TensorView err;     // float32 [1]: ||W - M||_F / ||W||_F (0 when W is 0)
  int64_t blocks = 0;
};
Status monarch_project_validate(const MonarchProjectParams& p);
Status monarch_project_cpu(const MonarchProjectParams& p);

}  // namespace tk

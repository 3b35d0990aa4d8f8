// Block ops on a CUDA device. Row ops (rmsNorm, softmax, argmax, topk) run one thread block per row
// (grid-stride over rows) with warp-shuffle reductions; the rest are grid-stride elementwise kernels.
// The int32 host values block() has read and checked (positions, ids, kvAppend positions) are copied
// to the device on every run. Inputs and outputs may alias exactly (in place): each thread reads an
// element before it writes that same element, and row kernels write only after their reductions, so
// no pointer is __restrict__.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <climits>

#include "../../cuda/check.h"
#include "../../cuda/convert.cuh"
#include "../../cuda/runtime.h"
#include "block.h"
#include "block_index.h"

namespace tk {
namespace {

// A secondary input of any float dtype (rmsNorm's weight, swiglu's up, add's b): the dtype is the same
// for the whole grid, so the switch never diverges, and the kernels keep two template axes, not three.
__device__ __forceinline__ float load_any(DType t, const void* p, int64_t i) {
  switch (t) {
    case DType::kFloat16: return __half2float(static_cast<const __half*>(p)[i]);
    case DType::kBFloat16: return __bfloat162float(static_cast<const __nv_bfloat16*>(p)[i]);
    default: return static_cast<const float*>(p)[i];
  }
}

constexpr unsigned kFull = 0xffffffffu;
constexpr int kMaxWarps = 8;  // row kernels: at most 256 threads per row

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(kFull, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(kFull, v, o));
  return v;
}

// Sum (or max) over the thread block; every thread gets the result.
template <bool Max>
__device__ float block_reduce(float v, float* red) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
  v = Max ? warp_max(v) : warp_sum(v);
  __syncthreads();  // red may still be read by the previous reduction
  if (lane == 0) red[warp] = v;
  __syncthreads();
  v = lane < nw ? red[lane] : (Max ? -INFINITY : 0.0f);
  return Max ? warp_max(v) : warp_sum(v);
}

// The best (value, index) under blk::ranks_before over the warp, then over the block.
__device__ __forceinline__ void warp_best(float& v, int& i) {
  for (int o = 16; o > 0; o >>= 1) {
    const float ov = __shfl_xor_sync(kFull, v, o);
    const int oi = __shfl_xor_sync(kFull, i, o);
    if (blk::ranks_before(ov, oi, v, i)) v = ov, i = oi;
  }
}
// (-inf, INT_MAX) ranks after every real element: the "no candidate" of a thread or lane.
__device__ void block_best(float& v, int& i, float* rv, int* ri) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
  warp_best(v, i);
  __syncthreads();
  if (lane == 0) rv[warp] = v, ri[warp] = i;
  __syncthreads();
  v = lane < nw ? rv[lane] : -INFINITY;
  i = lane < nw ? ri[lane] : INT_MAX;
  warp_best(v, i);
}

template <class T, class O>
__global__ void rms_norm_kernel(const T* x, const void* w, DType wt, O* y, int64_t rows, int64_t D, float eps) {
  __shared__ float red[kMaxWarps];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * D;
    O* yr = y + r * D;
    float ss = 0.0f;
    for (int64_t j = threadIdx.x; j < D; j += blockDim.x) {
      const float v = to_f32(xr[j]);
      ss += v * v;
    }
    ss = block_reduce<false>(ss, red);
    const float inv = 1.0f / sqrtf(ss / static_cast<float>(D) + eps);
    for (int64_t j = threadIdx.x; j < D; j += blockDim.x) yr[j] = from_f32<O>(load_any(wt, w, j) * (to_f32(xr[j]) * inv));
  }
}

template <class T, class O>
__global__ void softmax_kernel(const T* x, O* y, int64_t rows, int64_t N) {
  __shared__ float red[kMaxWarps];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * N;
    O* yr = y + r * N;
    float m = -INFINITY;
    for (int64_t j = threadIdx.x; j < N; j += blockDim.x) m = fmaxf(m, to_f32(xr[j]));
    m = block_reduce<true>(m, red);
    float sum = 0.0f;
    for (int64_t j = threadIdx.x; j < N; j += blockDim.x) sum += expf(to_f32(xr[j]) - m);
    const float inv = 1.0f / block_reduce<false>(sum, red);
    for (int64_t j = threadIdx.x; j < N; j += blockDim.x) yr[j] = from_f32<O>(expf(to_f32(xr[j]) - m) * inv);
  }
}

template <class T>
__global__ void argmax_kernel(const T* x, int32_t* out, int64_t rows, int N) {
  __shared__ float rv[kMaxWarps];
  __shared__ int ri[kMaxWarps];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * N;
    float v = -INFINITY;
    int i = INT_MAX;
    for (int j = threadIdx.x; j < N; j += blockDim.x) {
      const float xj = to_f32(xr[j]);
      if (blk::ranks_before(xj, j, v, i)) v = xj, i = j;
    }
    block_best(v, i, rv, ri);
    if (threadIdx.x == 0) out[r] = i;
  }
}

// k rounds of a block argmax, each over the elements ranked after the previous pick: the order is
// strict and total, so the picks come out sorted with no scratch memory. O(k * N) reads of a row that
// stays in L1 / L2; meant for sampling-sized k.
template <class T>
__global__ void topk_kernel(const T* x, float* values, int32_t* indices, int64_t rows, int N, int K) {
  __shared__ float rv[kMaxWarps];
  __shared__ int ri[kMaxWarps];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * N;
    float pv = 0.0f;
    int pi = -1;  // no previous pick yet
    for (int t = 0; t < K; ++t) {
      float v = -INFINITY;
      int i = INT_MAX;
      for (int j = threadIdx.x; j < N; j += blockDim.x) {
        const float xj = to_f32(xr[j]);
        if ((pi < 0 || blk::ranks_before(pv, pi, xj, j)) && blk::ranks_before(xj, j, v, i)) v = xj, i = j;
      }
      block_best(v, i, rv, ri);
      if (threadIdx.x == 0) values[r * K + t] = v, indices[r * K + t] = i;
      pv = v, pi = i;
    }
  }
}

enum class Ew { kSilu, kSwiglu, kAdd };

template <class T, class O, Ew Op>
__global__ void elementwise_kernel(const T* a, const void* b, DType bt, int64_t nb, O* out, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const float x = to_f32(a[i]);
    float y;
    if (Op == Ew::kSilu) {
      y = blk::silu(x);
    } else if (Op == Ew::kSwiglu) {
      y = blk::silu(x) * load_any(bt, b, i);
    } else {
      y = x + load_any(bt, b, i % nb);
    }
    out[i] = from_f32<O>(y);
  }
}

// One thread per rotated pair: pair i of row (b, s, h), n = B * S * H * D / 2.
template <class T, class O>
__global__ void rope_kernel(const T* x, O* y, const int32_t* pos, int64_t start, int64_t S, int64_t H, int64_t D, float theta, bool half,
                            int64_t n) {
  const int64_t hp = D / 2;
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < n; t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t i = t % hp, row = t / hp, bs = row / H;
    const int64_t p = pos ? int64_t(pos[bs]) : start + bs % S;
    const float ang = blk::rope_angle(theta, D, i, p);
    const float c = cosf(ang), s = sinf(ang);
    int64_t lo, hi;
    blk::rope_pair(half, D, i, &lo, &hi);
    float y0, y1;
    blk::rope_rotate(to_f32(x[row * D + lo]), to_f32(x[row * D + hi]), c, s, &y0, &y1);
    y[row * D + lo] = from_f32<O>(y0);
    y[row * D + hi] = from_f32<O>(y1);
  }
}

template <class T, class O>
__global__ void embedding_kernel(const T* table, const int32_t* ids, O* out, int64_t D, int64_t n) {
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < n; t += int64_t(gridDim.x) * blockDim.x) {
    out[t] = from_f32<O>(to_f32(table[int64_t(ids[t / D]) * D + t % D]));
  }
}

template <class T, class C>
__global__ void kv_append_kernel(const T* x, C* cache, const int32_t* pos, int64_t S, int64_t smax, int64_t row, int64_t n) {
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < n; t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = t % row, bs = t / row, b = bs / S, s = bs % S;
    cache[blk::kv_dst_index(b, s, r, pos[b], smax, row)] = from_f32<C>(to_f32(x[t]));
  }
}

// ---- host side -------------------------------------------------------------------------------------

template <class T>
struct Tag {
  using type = T;
};

template <class F>
Status with_type(DType t, F&& f) {
  switch (t) {
    case DType::kFloat32: return f(Tag<float>{});
    case DType::kFloat16: return f(Tag<__half>{});
    case DType::kBFloat16: return f(Tag<__nv_bfloat16>{});
    default: return Unsupported(std::string("block op on a CUDA device with dtype ") + dtype_name(t));
  }
}
template <class F>
Status with_types(DType a, DType b, F&& f) {
  return with_type(a, [&](auto ta) { return with_type(b, [&](auto tb) { return f(ta, tb); }); });
}

// Host int32 values on the device for one run.
class DeviceInts {
 public:
  explicit DeviceInts(int dev) : dev_(dev) {}
  ~DeviceInts() {
    if (ptr_) cuda::release(dev_, ptr_);
  }
  Status upload(const int32_t* h, int64_t n) {
    if (!h || n == 0) return Status::Ok();
    TK_RETURN_IF_ERROR(cuda::alloc(dev_, size_t(n) * 4, &ptr_));
    return cuda::copy_to_device(dev_, ptr_, h, size_t(n) * 4);
  }
  const int32_t* get() const { return static_cast<const int32_t*>(ptr_); }

 private:
  int dev_;
  void* ptr_ = nullptr;
};

struct Launch {
  cudaStream_t stream;
  int sms;
  constexpr static int kThreads = 256;
  // Grid-stride grids: enough blocks to fill the GPU, no more.
  int elementwise_grid(int64_t n) const {
    const int64_t blocks = (n + kThreads - 1) / kThreads;
    return static_cast<int>(blocks < int64_t(sms) * 8 ? blocks : int64_t(sms) * 8);
  }
  int row_grid(int64_t rows) const { return static_cast<int>(rows < int64_t(sms) * 16 ? rows : int64_t(sms) * 16); }
  // 32 threads for a short row, up to 256 (kMaxWarps warps) for long ones.
  static int row_threads(int64_t cols) {
    const int64_t t = (cols + 31) / 32 * 32;
    return static_cast<int>(t < 32 ? 32 : t > 32 * kMaxWarps ? 32 * kMaxWarps : t);
  }
};

Status launch_rows(const BlockParams& p, const BlockDims& d, const Launch& L) {
  const int grid = L.row_grid(d.rows), threads = Launch::row_threads(d.cols);
  return with_types(p.a.dtype, p.out.dtype == DType::kInt32 ? DType::kFloat32 : p.out.dtype, [&](auto ta, auto to) {
    using T = typename decltype(ta)::type;
    using O = typename decltype(to)::type;
    const T* x = static_cast<const T*>(p.a.data);
    switch (p.op) {
      case BlockOp::kRmsNorm:
        rms_norm_kernel<T, O><<<grid, threads, 0, L.stream>>>(x, p.b.data, p.b.dtype, static_cast<O*>(p.out.data), d.rows, d.cols, p.eps);
        break;
      case BlockOp::kSoftmax: softmax_kernel<T, O><<<grid, threads, 0, L.stream>>>(x, static_cast<O*>(p.out.data), d.rows, d.cols); break;
      case BlockOp::kArgmax: argmax_kernel<T><<<grid, threads, 0, L.stream>>>(x, p.out.as<int32_t>(), d.rows, int(d.cols)); break;
      default:
        topk_kernel<T><<<grid, threads, 0, L.stream>>>(x, p.out.as<float>(), p.out2.as<int32_t>(), d.rows, int(d.cols), int(p.k));
        break;
    }
    TK_CUDA_CHECK(cudaGetLastError());
    return Status::Ok();
  });
}

Status launch_elementwise(const BlockParams& p, const BlockDims& d, const Launch& L) {
  const int grid = L.elementwise_grid(d.rows);
  return with_types(p.a.dtype, p.out.dtype, [&](auto ta, auto to) {
    using T = typename decltype(ta)::type;
    using O = typename decltype(to)::type;
    const T* a = static_cast<const T*>(p.a.data);
    O* out = static_cast<O*>(p.out.data);
    if (p.op == BlockOp::kSilu) {
      elementwise_kernel<T, O, Ew::kSilu><<<grid, Launch::kThreads, 0, L.stream>>>(a, nullptr, p.a.dtype, 1, out, d.rows);
    } else if (p.op == BlockOp::kSwiglu) {
      elementwise_kernel<T, O, Ew::kSwiglu><<<grid, Launch::kThreads, 0, L.stream>>>(a, p.b.data, p.b.dtype, d.cols, out, d.rows);
    } else {
      elementwise_kernel<T, O, Ew::kAdd><<<grid, Launch::kThreads, 0, L.stream>>>(a, p.b.data, p.b.dtype, d.cols, out, d.rows);
    }
    TK_CUDA_CHECK(cudaGetLastError());
    return Status::Ok();
  });
}

Status launch_indexed(const BlockParams& p, const BlockDims& d, const Launch& L, const int32_t* ids) {
  return with_types(p.a.dtype, p.out.dtype, [&](auto ta, auto to) {
    using T = typename decltype(ta)::type;
    using O = typename decltype(to)::type;
    const T* a = static_cast<const T*>(p.a.data);
    O* out = static_cast<O*>(p.out.data);
    if (p.op == BlockOp::kRope) {
      const int64_t n = d.B * d.S * d.H * (d.D / 2);
      rope_kernel<T, O>
          <<<L.elementwise_grid(n), Launch::kThreads, 0, L.stream>>>(a, out, ids, p.start, d.S, d.H, d.D, p.theta, p.rope_half, n);
    } else if (p.op == BlockOp::kEmbedding) {
      const int64_t n = d.rows * d.cols;
      embedding_kernel<T, O><<<L.elementwise_grid(n), Launch::kThreads, 0, L.stream>>>(a, ids, out, d.cols, n);
    } else {
      const int64_t n = d.B * d.S * d.D;
      kv_append_kernel<T, O><<<L.elementwise_grid(n), Launch::kThreads, 0, L.stream>>>(a, out, ids, d.S, d.H, d.D, n);
    }
    TK_CUDA_CHECK(cudaGetLastError());
    return Status::Ok();
  });
}

bool empty_work(const BlockParams& p, const BlockDims& d) {
  switch (p.op) {
    case BlockOp::kRope: return p.a.numel == 0;
    case BlockOp::kKvAppend: return p.a.numel == 0;
    case BlockOp::kEmbedding: return p.out.numel == 0;
    case BlockOp::kSilu:
    case BlockOp::kSwiglu:
    case BlockOp::kAdd: return d.rows == 0;
    default: return d.rows == 0 || d.cols == 0;
  }
}

}  // namespace

Status block_cuda(const BlockParams& p, const BlockDims& d, const int32_t* idx, int64_t nidx) {
  const int dev = p.a.device.index;
  if (empty_work(p, d)) return Status::Ok();
  TK_RETURN_IF_ERROR(cuda::set_device(dev));
  const Launch L{static_cast<cudaStream_t>(cuda::stream(dev)), cuda::probe().devices[dev].multiprocessors};
  DeviceInts ids(dev);
  TK_RETURN_IF_ERROR(ids.upload(idx, nidx));
  Status s;
  switch (p.op) {
    case BlockOp::kRmsNorm:
    case BlockOp::kSoftmax:
    case BlockOp::kArgmax:
    case BlockOp::kTopk: s = launch_rows(p, d, L); break;
    case BlockOp::kSilu:
    case BlockOp::kSwiglu:
    case BlockOp::kAdd: s = launch_elementwise(p, d, L); break;
    default: s = launch_indexed(p, d, L, ids.get()); break;
  }
  TK_RETURN_IF_ERROR(s);
  return cuda::synchronize(dev);
}

}  // namespace tk

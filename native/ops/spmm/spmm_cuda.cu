// spmm on a CUDA device. The host plan: re-check rowPtr (non-decreasing within [0, nnz]; the error
// names the entry as the CPU path does), list the long rows and their chunks, pick the kernel
// (forced, or `auto` by density, block fill and N: spmm_configs.h), then launch on the library
// stream and synchronize (the caller is a worker thread). The kernels re-check every index they
// read from device memory and record the first bad one; the host turns it into the CPU path's
// error message. Workspaces are freed on every path.
#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "../../cuda/check.h"
#include "../../cuda/runtime.h"
#include "spmm.h"
#include "spmm_configs.h"
#include "spmm_kernel_csr.cuh"
#include "spmm_kernel_mma.cuh"

namespace tk {
namespace {

namespace cfg = spmm_cuda_configs;
using cuspmm::BlockedArgs;
using cuspmm::CsrArgs;

cuda::LastKernel g_last_kernel;

// Device memory released when it goes out of scope.
struct DevMem {
  int device;
  void* ptr = nullptr;
  explicit DevMem(int d) : device(d) {}
  ~DevMem() { cuda::release(device, ptr); }
  DevMem(const DevMem&) = delete;
  DevMem& operator=(const DevMem&) = delete;
};

int64_t host_index(const TensorView& t, int64_t i) { return t.dtype == DType::kInt64 ? t.as<int64_t>()[i] : t.as<int32_t>()[i]; }

struct Plan {
  int kernel = kSpmmCsr;
  int g = 32, vec = 1, nt = 1;
  std::vector<int64_t> chunks;     // (row, begin, end) per chunk of a long row
  std::vector<int64_t> long_rows;  // (row, first chunk, chunks) per long row
  double density = 0, fill = 0;
  std::string why;
};

bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

Status make_plan(const SpmmParams& p, const cuda::DeviceInfo& d, Plan* pl) {
  const int64_t n = p.b.shape[1], nnz = p.col_idx.shape[0];
  // rowPtr, re-checked on the host (the kernels check their device copy again).
  for (int64_t r = 0; r < p.rows; ++r) {
    const int64_t b = host_index(p.row_ptr, r), e = host_index(p.row_ptr, r + 1);
    if (!(0 <= b && b <= e && e <= nnz)) {
      return InvalidArgument("Expected rowPtr non-decreasing within [0, nnz] but rowPtr[" + std::to_string(r) + "] = " + std::to_string(b) +
                             " and rowPtr[" + std::to_string(r + 1) + "] = " + std::to_string(e));
    }
    const int64_t k = cuspmm::chunks_of(e - b, cfg::kCsrSplit);
    if (k == 0) continue;
    pl->long_rows.insert(pl->long_rows.end(), {r, int64_t(pl->chunks.size() / 3), k});
    for (int64_t q = 0; q < k; ++q)
      pl->chunks.insert(pl->chunks.end(), {r, cuspmm::chunk_begin(b, q, cfg::kCsrSplit), cuspmm::chunk_end(b, e, q, cfg::kCsrSplit)});
  }
  const int cc = d.cc_major * 10 + d.cc_minor;
  const bool blocked = present(p.dev.block_col);
  const int64_t blocks = blocked ? p.dev.block_col.shape[0] : 0;
  pl->density = p.rows && p.cols ? double(nnz) / (double(p.rows) * double(p.cols)) : 0;
  pl->fill = blocks ? double(nnz) / (double(blocks) * 128.0) : 0;
  int k = p.kernel;
  if (k == kSpmmAuto) {
    if (cc < 80) {
      k = kSpmmCsr, pl->why = "compute capability < 8.0: no tf32 mma";
    } else if (n <= cfg::kTileMaxN && pl->density >= cfg::kTileMinDensity && p.rows >= 16) {
      k = kSpmmTiles, pl->why = "N <= 64 and density >= 5%: load-as-sparse, compute-as-dense";
    } else if (blocked && pl->fill >= cfg::kBlockedMinFill) {
      k = kSpmmBlocked, pl->why = "block fill >= 1/8: tensor cores over the nonzero blocks";
    } else {
      k = kSpmmCsr, pl->why = blocked ? "block fill < 1/8: CSR" : "no blocked form prepared, density < 5% or N > 64: CSR";
    }
  } else {
    pl->why = "forced";
    if (k != kSpmmCsr && cc < 80)
      return Unsupported("spmm kernel " + std::string(k == kSpmmBlocked ? "blocked" : "tiles") +
                         " needs compute capability 8.0 (tf32 mma); this device is " + std::to_string(cc / 10) + "." +
                         std::to_string(cc % 10));
    if (k == kSpmmBlocked && !blocked)
      return InvalidArgument(
          "Expected the blocked form of the matrix for the blocked kernel (SparseMatrix.prepare({ format: 'blocked' }))");
    if (k == kSpmmTiles && n > cfg::kTileMaxN)
      return InvalidArgument("Expected N <= 64 for the tiles kernel but received " + std::to_string(n));
  }
  pl->kernel = k;
  const bool has_c = present(p.c) && p.beta != 0.0f;
  const bool vec4 = n % 4 == 0 && aligned16(p.b.data) && aligned16(p.out.data) && (!has_c || aligned16(p.c.data));
  pl->vec = vec4 ? 4 : 1;
  pl->g = cfg::csr_group_lanes(n, pl->vec);
  pl->nt = k == kSpmmBlocked ? cfg::blk_tiles(n) : cfg::tile_tiles(n);
  return Status::Ok();
}

template <class I, int G, int VEC>
void launch_csr_t(const CsrArgs& a, cudaStream_t st) {
  const int64_t per = cuspmm::csr_rows_per_cta(G);
  const dim3 grid(unsigned((a.count + per - 1) / per), unsigned((a.n + cuspmm::csr_tile_cols(G, VEC) - 1) / cuspmm::csr_tile_cols(G, VEC)));
  cuspmm::spmm_csr<I, G, VEC><<<grid, cuspmm::kCsrWarps * 32, 0, st>>>(a);
}

template <class I>
void launch_csr_i(const CsrArgs& a, int g, int vec, cudaStream_t st) {
  if (vec == 4) {
    switch (g) {
      case 4: return launch_csr_t<I, 4, 4>(a, st);
      case 8: return launch_csr_t<I, 8, 4>(a, st);
      case 16: return launch_csr_t<I, 16, 4>(a, st);
      default: return launch_csr_t<I, 32, 4>(a, st);
    }
  }
  switch (g) {
    case 4: return launch_csr_t<I, 4, 1>(a, st);
    case 8: return launch_csr_t<I, 8, 1>(a, st);
    case 16: return launch_csr_t<I, 16, 1>(a, st);
    default: return launch_csr_t<I, 32, 1>(a, st);
  }
}

template <class I, int NT>
Status launch_tiles_t(const CsrArgs& a, cudaStream_t st) {
  const int smem = cuspmm::tile_smem_floats(NT) * 4;  // <= 64*36*4 + 32*72*4 = 18 KB: no opt-in needed
  const unsigned grid = unsigned((a.rows + cuspmm::kTileRows - 1) / cuspmm::kTileRows);
  cuspmm::spmm_tiles<I, NT><<<grid, cuspmm::kTileWarps * 32, smem, st>>>(a);
  return Status::Ok();
}

template <class I>
Status launch_tiles_i(const CsrArgs& a, int nt, cudaStream_t st) {
  switch (nt) {
    case 1: return launch_tiles_t<I, 1>(a, st);
    case 2: return launch_tiles_t<I, 2>(a, st);
    case 4: return launch_tiles_t<I, 4>(a, st);
    default: return launch_tiles_t<I, 8>(a, st);
  }
}

// Everything one product needs on the device, allocated once (the bench launches it many times).
struct Prepared {
  Plan plan;
  CsrArgs csr{};
  BlockedArgs blk{};
  DevMem err, chunks, long_rows, ws;
  bool idx64 = false;
  explicit Prepared(int dev) : err(dev), chunks(dev), long_rows(dev), ws(dev) {}
};

Status prepare(const SpmmParams& p, int dev, Prepared* q) {
  const cuda::DeviceInfo& d = cuda::probe().devices[dev];
  TK_RETURN_IF_ERROR(make_plan(p, d, &q->plan));
  const int64_t n = p.b.shape[1];
  const bool has_c = present(p.c) && p.beta != 0.0f;
  TK_RETURN_IF_ERROR(cuda::alloc(dev, 3 * sizeof(unsigned long long), &q->err.ptr));
  CsrArgs& a = q->csr;
  a.row_ptr = p.dev.row_ptr.data, a.col_idx = p.dev.col_idx.data, a.values = p.dev.values.as<float>();
  a.rows = p.rows, a.cols = p.cols, a.nnz = p.col_idx.shape[0], a.n = n;
  a.b = p.b.as<float>(), a.c = has_c ? p.c.as<float>() : nullptr, a.out = p.out.as<float>();
  a.alpha = p.alpha, a.beta = has_c ? p.beta : 0.0f;
  a.err = static_cast<unsigned long long*>(q->err.ptr);
  a.split = cfg::kCsrSplit;
  a.count = p.rows;
  q->idx64 = p.row_ptr.dtype == DType::kInt64;
  const Plan& pl = q->plan;
  if (pl.kernel == kSpmmCsr && !pl.chunks.empty()) {
    const size_t cb = pl.chunks.size() * 8, lb = pl.long_rows.size() * 8;
    TK_RETURN_IF_ERROR(cuda::alloc(dev, cb, &q->chunks.ptr));
    TK_RETURN_IF_ERROR(cuda::copy_to_device(dev, q->chunks.ptr, pl.chunks.data(), cb));
    TK_RETURN_IF_ERROR(cuda::alloc(dev, lb, &q->long_rows.ptr));
    TK_RETURN_IF_ERROR(cuda::copy_to_device(dev, q->long_rows.ptr, pl.long_rows.data(), lb));
    TK_RETURN_IF_ERROR(cuda::alloc(dev, size_t(pl.chunks.size() / 3) * size_t(n) * 4, &q->ws.ptr));
  }
  if (pl.kernel == kSpmmBlocked) {
    BlockedArgs& b = q->blk;
    b.panel_ptr = p.dev.panel_ptr.as<int32_t>(), b.block_col = p.dev.block_col.as<int32_t>();
    b.block_values = p.dev.block_values.as<float>(), b.perm = p.dev.perm.as<int32_t>();
    b.rows = p.rows, b.cols = p.cols, b.blocks = p.dev.block_col.shape[0], b.n = n;
    b.b = a.b, b.c = a.c, b.out = a.out, b.alpha = a.alpha, b.beta = a.beta, b.err = a.err;
  }
  return Status::Ok();
}

Status launch(const Prepared& q, const cuda::DeviceInfo& d, cudaStream_t st) {
  const Plan& pl = q.plan;
  TK_CUDA_CHECK(cudaMemsetAsync(q.err.ptr, 0xff, 3 * sizeof(unsigned long long), st));
  if (pl.kernel == kSpmmBlocked) {
    const BlockedArgs& b = q.blk;
    const int cols = cuspmm::blk_cta_cols(pl.nt);
    const dim3 grid(unsigned((b.rows + 15) / 16), unsigned((b.n + cols - 1) / cols));
    switch (pl.nt) {
      case 1: cuspmm::spmm_blocked<1><<<grid, cuspmm::kBlkWarps * 32, 0, st>>>(b); break;
      case 2: cuspmm::spmm_blocked<2><<<grid, cuspmm::kBlkWarps * 32, 0, st>>>(b); break;
      default: cuspmm::spmm_blocked<4><<<grid, cuspmm::kBlkWarps * 32, 0, st>>>(b); break;
    }
  } else if (pl.kernel == kSpmmTiles) {
    TK_RETURN_IF_ERROR(q.idx64 ? launch_tiles_i<int64_t>(q.csr, pl.nt, st) : launch_tiles_i<int32_t>(q.csr, pl.nt, st));
  } else {
    if (q.idx64)
      launch_csr_i<int64_t>(q.csr, pl.g, pl.vec, st);
    else
      launch_csr_i<int32_t>(q.csr, pl.g, pl.vec, st);
    if (!pl.chunks.empty()) {
      CsrArgs c = q.csr;
      c.chunks = static_cast<const int64_t*>(q.chunks.ptr);
      c.count = int64_t(pl.chunks.size() / 3);
      c.ws = static_cast<float*>(q.ws.ptr);
      if (q.idx64)
        launch_csr_i<int64_t>(c, pl.g, pl.vec, st);
      else
        launch_csr_i<int32_t>(c, pl.g, pl.vec, st);
      TK_CUDA_CHECK(cudaGetLastError());
      const int64_t total = int64_t(pl.long_rows.size() / 3) * c.n;
      const int blocks = int(std::min<int64_t>((total + 255) / 256, int64_t(d.multiprocessors > 0 ? d.multiprocessors : 1) * 8));
      cuspmm::spmm_csr_merge<<<blocks, 256, 0, st>>>(c, static_cast<const int64_t*>(q.long_rows.ptr), int64_t(pl.long_rows.size() / 3));
    }
  }
  TK_CUDA_CHECK(cudaGetLastError());
  return Status::Ok();
}

// After the stream has drained: the first bad index the kernels met, as the CPU path words it.
Status check_errors(const SpmmParams& p, const Prepared& q, int dev) {
  unsigned long long e[3];
  TK_RETURN_IF_ERROR(cuda::copy_to_host(dev, e, q.err.ptr, sizeof(e)));
  if (e[1] != ULLONG_MAX) {
    const int64_t r = int64_t(e[1]);
    return InvalidArgument("Expected rowPtr non-decreasing within [0, nnz] but the device copy of rowPtr is not at row " +
                           std::to_string(r) + " (was the SparseMatrix's rowPtr modified after it was uploaded?)");
  }
  if (e[0] != ULLONG_MAX) {
    const int64_t pos = int64_t(e[0]);
    // The row holding entry pos: the last r with rowPtr[r] <= pos (host rowPtr, checked in make_plan).
    int64_t lo = 0, hi = p.rows;
    while (lo < hi) {
      const int64_t mid = lo + (hi - lo + 1) / 2;
      if (host_index(p.row_ptr, mid) <= pos)
        lo = mid;
      else
        hi = mid - 1;
    }
    const int64_t row = std::min<int64_t>(lo, p.rows > 0 ? p.rows - 1 : 0);
    return InvalidArgument("Expected colIdx in [0, " + std::to_string(p.cols) + ") but colIdx[" + std::to_string(pos) +
                           "] = " + std::to_string(host_index(p.col_idx, pos)) + " (row " + std::to_string(row) + ")");
  }
  if (e[2] != ULLONG_MAX) {
    const int64_t pos = int64_t(e[2]), blocks = q.blk.blocks;
    return InvalidArgument(pos < blocks ? "Expected the blocked form's blockCol[" + std::to_string(pos) +
                                              "] (or its panel's range) a multiple of 8 in [0, " + std::to_string(p.cols) + ")"
                                        : "Expected the blocked form's perm[" + std::to_string(pos - blocks) + "] in [0, " +
                                              std::to_string(p.rows) + ")");
  }
  return Status::Ok();
}

std::string kernel_name(const SpmmParams& p, const Plan& pl) {
  const std::string idx = p.row_ptr.dtype == DType::kInt64 ? "int64" : "int32";
  char buf[64];
  std::string s;
  if (pl.kernel == kSpmmBlocked) {
    std::snprintf(buf, sizeof(buf), "%.3f", pl.fill);
    s = "spmm_blocked_sm80 (SMaT, 3xtf32) nt=" + std::to_string(pl.nt) + " fill=" + buf;
  } else if (pl.kernel == kSpmmTiles) {
    std::snprintf(buf, sizeof(buf), "%.3f", pl.density);
    s = "spmm_tiles_sm80 (Flash-LLM, 3xtf32) nt=" + std::to_string(pl.nt) + " " + idx + " density=" + buf;
  } else {
    s = "spmm_csr g=" + std::to_string(pl.g) + " vec=" + std::to_string(pl.vec) + " " + idx +
        " split rows=" + std::to_string(pl.long_rows.size() / 3);
  }
  return s + " (" + pl.why + ")";
}

Status run_prepared(const SpmmParams& p, int dev, Prepared* q) {
  TK_RETURN_IF_ERROR(cuda::set_device(dev));
  return prepare(p, dev, q);
}

}  // namespace

std::string spmm_cuda_last_kernel() { return g_last_kernel.get(); }

Status spmm_cuda(const SpmmParams& p, int dev) {
  if (p.rows == 0 || p.b.shape[1] == 0) return Status::Ok();
  Prepared q(dev);
  TK_RETURN_IF_ERROR(run_prepared(p, dev, &q));
  const cuda::DeviceInfo& d = cuda::probe().devices[dev];
  auto st = static_cast<cudaStream_t>(cuda::stream(dev));
  TK_RETURN_IF_ERROR(launch(q, d, st));
  g_last_kernel.set(kernel_name(p, q.plan));
  TK_RETURN_IF_ERROR(cuda::synchronize(dev));
  return check_errors(p, q, dev);
}

Status spmm_cuda_time(const SpmmParams& p, int warmup, int runs, std::vector<double>* seconds) {
  if (!p.b.device.is_cuda()) return InvalidArgument("Expected device tensors for the spmm timing");
  const int dev = p.b.device.index;
  seconds->clear();
  if (p.rows == 0 || p.b.shape[1] == 0) return Status::Ok();
  Prepared q(dev);
  TK_RETURN_IF_ERROR(run_prepared(p, dev, &q));
  const cuda::DeviceInfo& d = cuda::probe().devices[dev];
  auto st = static_cast<cudaStream_t>(cuda::stream(dev));
  g_last_kernel.set(kernel_name(p, q.plan));
  cudaEvent_t e0 = nullptr, e1 = nullptr;
  TK_CUDA_CHECK(cudaEventCreate(&e0));
  Status s = cuda::from_cuda(cudaEventCreate(&e1), "cudaEventCreate");
  for (int i = 0; s.ok() && i < warmup + runs; ++i) {
    if (i >= warmup) s = cuda::from_cuda(cudaEventRecord(e0, st), "cudaEventRecord");
    if (s.ok()) s = launch(q, d, st);
    if (s.ok() && i >= warmup) {
      s = cuda::from_cuda(cudaEventRecord(e1, st), "cudaEventRecord");
      if (s.ok()) s = cuda::from_cuda(cudaEventSynchronize(e1), "cudaEventSynchronize");
      float ms = 0;
      if (s.ok()) s = cuda::from_cuda(cudaEventElapsedTime(&ms, e0, e1), "cudaEventElapsedTime");
      if (s.ok()) seconds->push_back(ms * 1e-3);
    }
  }
  cudaEventDestroy(e0);
  if (e1) cudaEventDestroy(e1);
  TK_RETURN_IF_ERROR(s);
  TK_RETURN_IF_ERROR(cuda::synchronize(dev));
  return check_errors(p, q, dev);
}

}  // namespace tk

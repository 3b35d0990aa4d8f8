// cuSPARSE as the GPU spmm baseline, loaded with dlopen (no cuSPARSE headers or link): the prototypes and
// enum values used are declared here (values as in cusparse.h, CUDA 12/13).
#include "gpu_spmm_bench.h"

#include <cuda_runtime_api.h>
#include <dlfcn.h>
#include <library_types.h>

#include <mutex>

#include "../cuda/check.h"
#include "../cuda/runtime.h"
#include "dl_lib.h"
#include "gpu_gemm_bench.h"

namespace tk::bench {
namespace {

using Handle = void*;
using SpMat = void*;
using DnMat = void*;
using St = int;                            // cusparseStatus_t, 0 = success
constexpr int kOpNon = 0;                  // CUSPARSE_OPERATION_NON_TRANSPOSE
constexpr int kIndex32 = 2, kIndex64 = 3;  // CUSPARSE_INDEX_32I / 64I
constexpr int kBaseZero = 0;               // CUSPARSE_INDEX_BASE_ZERO
constexpr int kOrderRow = 2;               // CUSPARSE_ORDER_ROW
constexpr int kSpmmCsrAlg2 = 6;            // CUSPARSE_SPMM_CSR_ALG2

struct Cusparse {
  CusparseInfo info;
  St (*create)(Handle*) = nullptr;
  St (*set_stream)(Handle, cudaStream_t) = nullptr;
  St (*create_csr)(SpMat*, int64_t, int64_t, int64_t, void*, void*, void*, int, int, int, cudaDataType) = nullptr;
  St (*create_dn)(DnMat*, int64_t, int64_t, int64_t, void*, cudaDataType, int) = nullptr;
  St (*destroy_sp)(SpMat) = nullptr;
  St (*destroy_dn)(DnMat) = nullptr;
  St (*buffer_size)(Handle, int, int, const void*, SpMat, DnMat, const void*, DnMat, cudaDataType, int, size_t*) = nullptr;
  St (*spmm)(Handle, int, int, const void*, SpMat, DnMat, const void*, DnMat, cudaDataType, int, void*) = nullptr;
  Handle handle = nullptr;
  int handle_device = -1;
};

template <class F>
void sym(void* h, const char* name, F* f) {
  *f = reinterpret_cast<F>(dlsym(h, name));
}

Cusparse& lib() {
  static Cusparse c;
  static std::once_flag once;
  std::call_once(once, [] {
    std::vector<std::string> cands;
    if (const char* e = std::getenv("TENSORKERN_CUSPARSE")) cands.push_back(e);
    for (const char* n : {"libcusparse.so.12", "libcusparse.so.13", "libcusparse.so", "/usr/local/cuda/lib64/libcusparse.so.12",
                          "/usr/local/cuda/lib64/libcusparse.so.13", "/usr/local/cuda/lib64/libcusparse.so"})
      cands.push_back(n);
    for (const std::string& n : nvidia_pip_paths(
             {"nvidia/cusparse/lib/libcusparse.so.12", "nvidia/cusparse/lib/libcusparse.so.13", "nvidia/cu13/lib/libcusparse.so.13"}))
      cands.push_back(n);
    void* h = nullptr;
    for (const std::string& n : cands) {
      // cuSPARSE needs nvJitLink from its own wheel; RTLD_GLOBAL is not needed, its RUNPATH finds it.
      if ((h = dlopen(n.c_str(), RTLD_NOW | RTLD_LOCAL)) != nullptr) {
        c.info.path = n;
        break;
      }
    }
    if (!h) {
      c.info.why =
          "libcusparse not found (TENSORKERN_CUSPARSE, libcusparse.so.12/.13, /usr/local/cuda/lib64, pip nvidia-cusparse); pip install "
          "nvidia-cusparse-cu12 or set TENSORKERN_CUSPARSE";
      return;
    }
    sym(h, "cusparseCreate", &c.create);
    sym(h, "cusparseSetStream", &c.set_stream);
    sym(h, "cusparseCreateCsr", &c.create_csr);
    sym(h, "cusparseCreateDnMat", &c.create_dn);
    sym(h, "cusparseDestroySpMat", &c.destroy_sp);
    sym(h, "cusparseDestroyDnMat", &c.destroy_dn);
    sym(h, "cusparseSpMM_bufferSize", &c.buffer_size);
    sym(h, "cusparseSpMM", &c.spmm);
    if (!c.create || !c.set_stream || !c.create_csr || !c.create_dn || !c.destroy_sp || !c.destroy_dn || !c.buffer_size || !c.spmm) {
      c.info.why = c.info.path + " lacks the generic SpMM API (cusparseCreateCsr / cusparseSpMM)";
      return;
    }
    int v = 0;
    auto get_version = reinterpret_cast<St (*)(Handle, int*)>(dlsym(h, "cusparseGetVersion"));
    if (c.create(&c.handle) == 0) {
      cudaGetDevice(&c.handle_device);
      if (get_version && get_version(c.handle, &v) == 0)
        c.info.version = std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 100) + "." + std::to_string(v % 100);
    }
    c.info.available = true;
  });
  return c;
}

// Descriptors and the work buffer of one problem, released on every path.
struct Problem {
  Cusparse& c;
  int dev;
  SpMat a = nullptr;
  DnMat b = nullptr, y = nullptr;
  void* buffer = nullptr;
  explicit Problem(Cusparse& l, int d) : c(l), dev(d) {}
  ~Problem() {
    if (a) c.destroy_sp(a);
    if (b) c.destroy_dn(b);
    if (y) c.destroy_dn(y);
    cuda::release(dev, buffer);
  }
};

}  // namespace

CusparseInfo cusparse_load() { return lib().info; }

Status gpu_time_cusparse_spmm(const TensorView& row_ptr, const TensorView& col_idx, const TensorView& values, int64_t rows, int64_t cols,
                              const TensorView& b, const TensorView& out, int warmup, int runs, std::vector<double>* secs) {
  Cusparse& c = lib();
  if (!c.info.available) return Unsupported("cuSPARSE: " + c.info.why);
  for (const TensorView* t : {&row_ptr, &col_idx, &values, &b, &out}) {
    if (!t->device.is_cuda() || t->device.index != b.device.index)
      return InvalidArgument("the cuSPARSE bench takes tensors on one CUDA device");
  }
  if (values.dtype != DType::kFloat32 || b.dtype != DType::kFloat32 || out.dtype != DType::kFloat32 || b.ndim != 2 || out.ndim != 2 ||
      row_ptr.dtype != col_idx.dtype || (row_ptr.dtype != DType::kInt32 && row_ptr.dtype != DType::kInt64) || row_ptr.numel != rows + 1 ||
      b.shape[0] != cols || out.shape[0] != rows || out.shape[1] != b.shape[1] || col_idx.numel != values.numel) {
    return InvalidArgument("the cuSPARSE bench takes float32 CSR (int32 or int64 indices) x float32 [cols, N] -> [rows, N]");
  }
  const int dev = b.device.index;
  TK_RETURN_IF_ERROR(cuda::set_device(dev));
  if (!c.handle || c.handle_device != dev) {
    if (c.create(&c.handle) != 0) return Status(Code::kCuda, "cusparseCreate failed");
    c.handle_device = dev;
  }
  c.set_stream(c.handle, static_cast<cudaStream_t>(cuda::stream(dev)));
  const int64_t n = b.shape[1];
  const int it = row_ptr.dtype == DType::kInt64 ? kIndex64 : kIndex32;
  Problem pr(c, dev);
  if (c.create_csr(&pr.a, rows, cols, values.numel, row_ptr.data, col_idx.data, values.data, it, it, kBaseZero, CUDA_R_32F) != 0 ||
      c.create_dn(&pr.b, cols, n, n, b.data, CUDA_R_32F, kOrderRow) != 0 ||
      c.create_dn(&pr.y, rows, n, n, out.data, CUDA_R_32F, kOrderRow) != 0) {
    return Status(Code::kCuda, "cuSPARSE descriptor creation failed");
  }
  const float alpha = 1.0f, beta = 0.0f;
  size_t bytes = 0;
  if (c.buffer_size(c.handle, kOpNon, kOpNon, &alpha, pr.a, pr.b, &beta, pr.y, CUDA_R_32F, kSpmmCsrAlg2, &bytes) != 0) {
    return Status(Code::kCuda, "cusparseSpMM_bufferSize failed");
  }
  TK_RETURN_IF_ERROR(cuda::alloc(dev, bytes, &pr.buffer));
  return time_on_stream(
      dev, warmup, runs,
      [&]() -> Status {
        const St r = c.spmm(c.handle, kOpNon, kOpNon, &alpha, pr.a, pr.b, &beta, pr.y, CUDA_R_32F, kSpmmCsrAlg2, pr.buffer);
        return r == 0 ? Status::Ok() : Status(Code::kCuda, "cusparseSpMM failed with status " + std::to_string(r));
      },
      secs);
}

}  // namespace tk::bench

// cuBLAS as the GPU gemm baseline, loaded with dlopen (no cuBLAS headers or link): the few prototypes
// and enum values used are declared here (values as in cublas_api.h, CUDA 12/13), and CUDA-event
// timing of tensorkern and cuBLAS on the same device tensors and stream.
#include "gpu_gemm_bench.h"

#include <cuda_runtime_api.h>
#include <dlfcn.h>
#include <library_types.h>

#include <cstdlib>
#include <mutex>

#include "../cuda/check.h"
#include "../cuda/runtime.h"
#include "dl_lib.h"

namespace tk::bench {
namespace {

using cublasHandle_t = void*;
using cublasStatus_t = int;                                                  // 0 = CUBLAS_STATUS_SUCCESS
constexpr int kOpN = 0, kOpT = 1;                                            // cublasOperation_t
constexpr int kCompute32F = 68, kCompute32I = 72, kCompute32FFastTf32 = 77;  // cublasComputeType_t
constexpr int kGemmDefault = -1;                                             // cublasGemmAlgo_t

using CreateFn = cublasStatus_t (*)(cublasHandle_t*);
using SetStreamFn = cublasStatus_t (*)(cublasHandle_t, cudaStream_t);
using GetVersionFn = cublasStatus_t (*)(cublasHandle_t, int*);
using GemmExFn = cublasStatus_t (*)(cublasHandle_t, int, int, int, int, int, const void*, const void*, cudaDataType_t, int, const void*,
                                    cudaDataType_t, int, const void*, void*, cudaDataType_t, int, int, int);

using GemmBatchedFn = cublasStatus_t (*)(cublasHandle_t, int, int, int, int, int, const void*, const void*, cudaDataType_t, int, long long,
                                         const void*, cudaDataType_t, int, long long, const void*, void*, cudaDataType_t, int, long long,
                                         int, int, int);

struct Cublas {
  CublasInfo info;
  CreateFn create = nullptr;
  SetStreamFn set_stream = nullptr;
  GemmExFn gemm_ex = nullptr;
  GemmBatchedFn gemm_batched = nullptr;  // optional (the attention bench)
  cublasHandle_t handle = nullptr;
  int handle_device = -1;
};

Cublas& lib() {
  static Cublas c;
  static std::once_flag once;
  std::call_once(once, [] {
    std::vector<std::string> cands;
    for (const char* n : {"libcublas.so.13", "libcublas.so.12", "libcublas.so", "/usr/local/cuda/lib64/libcublas.so.13",
                          "/usr/local/cuda/lib64/libcublas.so.12", "/usr/local/cuda/lib64/libcublas.so"})
      cands.push_back(n);
    for (const std::string& n :
         nvidia_pip_paths({"nvidia/cublas/lib/libcublas.so.12", "nvidia/cublas/lib/libcublas.so.13", "nvidia/cu13/lib/libcublas.so.13"}))
      cands.push_back(n);
    std::string tried;
    void* h = nullptr;
    std::vector<std::string> all;
    if (const char* e = std::getenv("TENSORKERN_CUBLAS")) all.push_back(e);
    all.insert(all.end(), cands.begin(), cands.end());
    for (const std::string& n : all) {
      h = dlopen(n.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (h) {
        c.info.path = n;
        break;
      }
    }
    if (!h) {
      c.info.why =
          "libcublas not found (TENSORKERN_CUBLAS, libcublas.so.13/.12, /usr/local/cuda/lib64, pip nvidia-cublas); pip install "
          "nvidia-cublas-cu12 or set TENSORKERN_CUBLAS";
      return;
    }
    c.create = reinterpret_cast<CreateFn>(dlsym(h, "cublasCreate_v2"));
    c.set_stream = reinterpret_cast<SetStreamFn>(dlsym(h, "cublasSetStream_v2"));
    c.gemm_ex = reinterpret_cast<GemmExFn>(dlsym(h, "cublasGemmEx"));
    c.gemm_batched = reinterpret_cast<GemmBatchedFn>(dlsym(h, "cublasGemmStridedBatchedEx"));
    auto get_version = reinterpret_cast<GetVersionFn>(dlsym(h, "cublasGetVersion_v2"));
    if (!c.create || !c.set_stream || !c.gemm_ex) {
      c.info.why = c.info.path + " lacks cublasCreate_v2 / cublasSetStream_v2 / cublasGemmEx";
      return;
    }
    c.info.available = true;
    if (get_version) {
      cublasHandle_t tmp = nullptr;
      int v = 0;
      if (c.create(&tmp) == 0 && get_version(tmp, &v) == 0)
        c.info.version = std::to_string(v / 10000) + "." + std::to_string((v / 100) % 100) + "." + std::to_string(v % 100);
      c.handle = tmp;
      cudaGetDevice(&c.handle_device);
    }
  });
  return c;
}

cudaDataType_t cuda_type(DType t) {
  switch (t) {
    case DType::kFloat16: return CUDA_R_16F;
    case DType::kBFloat16: return CUDA_R_16BF;
    case DType::kInt8: return CUDA_R_8I;
    case DType::kInt32: return CUDA_R_32I;
    default: return CUDA_R_32F;
  }
}

// Row-major C[M,N] = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: cuBLAS gets B first.
Status cublas_gemm(const GemmParams& p, const GemmShape& s, int dev) {
  Cublas& c = lib();
  if (!c.info.available) return Unsupported("cuBLAS: " + c.info.why);
  if (!c.handle || c.handle_device != dev) {
    if (c.create(&c.handle) != 0) return Status(Code::kCuda, "cublasCreate failed");
    c.handle_device = dev;
  }
  c.set_stream(c.handle, static_cast<cudaStream_t>(cuda::stream(dev)));
  const bool int8 = p.a.dtype == DType::kInt8;
  const float alpha = 1.0f, beta = 0.0f;
  const int32_t ialpha = 1, ibeta = 0;
  const int compute = int8 ? kCompute32I : p.a.dtype == DType::kFloat32 && p.allow_tf32 ? kCompute32FFastTf32 : kCompute32F;
  cublasStatus_t r = c.gemm_ex(c.handle, p.trans_b ? kOpT : kOpN, p.trans_a ? kOpT : kOpN, int(s.N), int(s.M), int(s.K),
                               int8 ? static_cast<const void*>(&ialpha) : &alpha, p.b.data, cuda_type(p.b.dtype), int(s.ldb), p.a.data,
                               cuda_type(p.a.dtype), int(s.lda), int8 ? static_cast<const void*>(&ibeta) : &beta, p.out.data,
                               cuda_type(p.out.dtype), int(s.N), compute, kGemmDefault);
  if (r != 0) return Status(Code::kCuda, "cublasGemmEx failed with status " + std::to_string(r));
  return Status::Ok();
}

Status cublas_handle(int dev, Cublas** out) {
  Cublas& c = lib();
  if (!c.info.available) return Unsupported("cuBLAS: " + c.info.why);
  if (!c.handle || c.handle_device != dev) {
    if (c.create(&c.handle) != 0) return Status(Code::kCuda, "cublasCreate failed");
    c.handle_device = dev;
  }
  c.set_stream(c.handle, static_cast<cudaStream_t>(cuda::stream(dev)));
  *out = &c;
  return Status::Ok();
}

}  // namespace

CublasInfo cublas_load() { return lib().info; }

Status cublas_gemm_batched(int dev, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const void* a, int64_t lda,
                           int64_t stride_a, const void* b, int64_t ldb, int64_t stride_b, void* c, int64_t ldc, int64_t stride_c,
                           int64_t batch, DType in, DType out) {
  Cublas* cb = nullptr;
  TK_RETURN_IF_ERROR(cublas_handle(dev, &cb));
  if (!cb->gemm_batched) return Unsupported("cuBLAS: " + cb->info.path + " lacks cublasGemmStridedBatchedEx");
  const float beta = 0.0f;
  // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: B goes first.
  const cublasStatus_t r = cb->gemm_batched(cb->handle, trans_b ? kOpT : kOpN, trans_a ? kOpT : kOpN, int(N), int(M), int(K), &alpha, b,
                                            cuda_type(in), int(ldb), stride_b, a, cuda_type(in), int(lda), stride_a, &beta, c,
                                            cuda_type(out), int(ldc), stride_c, int(batch), kCompute32F, kGemmDefault);
  if (r != 0) return Status(Code::kCuda, "cublasGemmStridedBatchedEx failed with status " + std::to_string(r));
  return Status::Ok();
}

Status gpu_time_gemm(const std::string& which, const GemmParams& p, int warmup, int runs, std::vector<double>* secs) {
  GemmShape s;
  TK_RETURN_IF_ERROR(gemm_validate(p, &s));
  if (!p.a.device.is_cuda()) return InvalidArgument("gpu_time_gemm takes device tensors");
  const int dev = p.a.device.index;
  return time_on_stream(
      dev, warmup, runs, [&]() -> Status { return which == "cublas" ? cublas_gemm(p, s, dev) : gemm_cuda(p, s, dev); }, secs);
}

Status time_on_stream(int dev, int warmup, int runs, const std::function<Status()>& call, std::vector<double>* secs) {
  TK_RETURN_IF_ERROR(cuda::set_device(dev));
  auto stream = static_cast<cudaStream_t>(cuda::stream(dev));
  for (int i = 0; i < warmup; ++i) TK_RETURN_IF_ERROR(call());
  TK_RETURN_IF_ERROR(cuda::synchronize(dev));
  cudaEvent_t e0, e1;
  TK_CUDA_CHECK(cudaEventCreate(&e0));
  if (cudaEventCreate(&e1) != cudaSuccess) {
    cudaEventDestroy(e0);
    return Status(Code::kCuda, "cudaEventCreate failed");
  }
  Status st;
  for (int i = 0; i < runs && st.ok(); ++i) {
    cudaEventRecord(e0, stream);
    st = call();
    cudaEventRecord(e1, stream);
    if (st.ok()) st = cuda::from_cuda(cudaEventSynchronize(e1), "cudaEventSynchronize");
    float ms = 0;
    if (st.ok()) st = cuda::from_cuda(cudaEventElapsedTime(&ms, e0, e1), "cudaEventElapsedTime");
    if (st.ok()) secs->push_back(ms * 1e-3);
  }
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  return st;
}

}  // namespace tk::bench

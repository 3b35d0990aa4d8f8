#include "gemm.h"

#include <string>
#include <vector>

#include "../../core/op_hooks.h"
#include "../../cuda/runtime.h"

namespace tk {

Status gemm_validate(const GemmParams& p, GemmShape* s) {
  const TensorView &a = p.a, &b = p.b, &out = p.out;
  if (a.ndim < 2 || a.ndim > 3 || b.ndim < 2 || b.ndim > 3) {
    return InvalidArgument("Expected rank 2 or 3 for a and b but received " + shape_str(a) + " and " + shape_str(b));
  }
  if (p.int4_scales != nullptr) {  // int4Matmul's internal call (GemmParams::int4_scales)
    if (b.dtype != DType::kInt4 || a.dtype != DType::kFloat32 || !p.trans_b || b.ndim != 2 || !a.device.is_cpu() || p.int4_group <= 0 ||
        b.shape[1] % p.int4_group != 0)
      return Internal("gemm: int4 b takes float32 a, b int4 [N, K] with trans_b and groups dividing K, on the CPU");
  } else if (a.dtype != b.dtype)
    return TypeMismatch(std::string("Expected a and b of one dtype but received ") + dtype_name(a.dtype) + " and " + dtype_name(b.dtype));
  const bool int8 = a.dtype == DType::kInt8;
  if (!int8 && !dtype_is_float(a.dtype)) return Unsupported(std::string("gemm does not take ") + dtype_name(a.dtype) + " inputs");
  const DType acc = int8 ? DType::kInt32 : DType::kFloat32;
  if (int8 ? out.dtype != DType::kInt32 : !dtype_is_float(out.dtype)) {
    return TypeMismatch(std::string("Expected out of dtype ") + (int8 ? "int32" : "float32, float16 or bfloat16") + " but received " +
                        dtype_name(out.dtype));
  }
  const int64_t ab = a.ndim == 3 ? a.shape[0] : 1, bb = b.ndim == 3 ? b.shape[0] : 1;
  if (a.ndim == 3 && b.ndim == 3 && ab != bb)
    return InvalidArgument("Expected equal batch sizes but received " + shape_str(a) + " and " + shape_str(b));
  s->batch = a.ndim == 3 ? ab : bb;
  const int64_t a0 = a.dim(-2), a1 = a.dim(-1), b0 = b.dim(-2), b1 = b.dim(-1);
  s->M = p.trans_a ? a1 : a0;
  s->K = p.trans_a ? a0 : a1;
  const int64_t kb = p.trans_b ? b1 : b0;
  s->N = p.trans_b ? b0 : b1;
  if (kb != s->K)
    return InvalidArgument("Expected the inner dimensions to agree but op(a) is " + std::to_string(s->M) + "x" + std::to_string(s->K) +
                           " and op(b) is " + std::to_string(kb) + "x" + std::to_string(s->N));
  s->lda = a1;
  s->ldb = b1;
  s->stride_a = a.ndim == 3 ? a0 * a1 : 0;
  s->stride_b = b.ndim == 3 ? b0 * b1 : 0;

  const bool batched = a.ndim == 3 || b.ndim == 3;
  auto check_mn = [&](const TensorView& t, const char* name, int64_t* stride) -> Status {
    bool ok = (t.ndim == 2 && t.shape[0] == s->M && t.shape[1] == s->N) ||
              (t.ndim == 3 && t.shape[0] == s->batch && t.shape[1] == s->M && t.shape[2] == s->N && batched);
    if (!ok)
      return InvalidArgument(std::string("Expected ") + name + " of shape " + (batched ? "[" + std::to_string(s->batch) + ", " : "[") +
                             std::to_string(s->M) + ", " + std::to_string(s->N) + "] but received " + shape_str(t));
    *stride = t.ndim == 3 ? s->M * s->N : 0;
    return Status::Ok();
  };
  TK_RETURN_IF_ERROR(check_mn(out, "out", &s->stride_out));
  if (batched && out.ndim != 3 && s->batch > 1)
    return InvalidArgument("Expected a rank-3 out for a batched gemm but received " + shape_str(out));
  if (present(p.c)) {
    TK_RETURN_IF_ERROR(check_mn(p.c, "c", &s->stride_c));
    if (int8 ? p.c.dtype != DType::kInt32 : !dtype_is_float(p.c.dtype))
      return TypeMismatch(std::string("Expected c of dtype ") + dtype_name(acc));
  }
  if (present(p.bias)) {
    if (p.bias.ndim != 1 || p.bias.shape[0] != s->N)
      return InvalidArgument("Expected bias of shape [" + std::to_string(s->N) + "] but received " + shape_str(p.bias));
    if (int8 ? p.bias.dtype != DType::kInt32 : !dtype_is_float(p.bias.dtype))
      return TypeMismatch(std::string("Expected bias of dtype ") + dtype_name(acc));
  }
  if (!present(p.c) && p.beta != 0.0f) return InvalidArgument("Expected c when beta is nonzero");
  const Device dev = a.device;
  return check_same_device("gemm", dev, {&b, &out, &p.c, &p.bias});
}

Status gemm(const GemmParams& p) {
  GemmShape s;
  TK_RETURN_IF_ERROR(gemm_validate(p, &s));
  return gemm_run(p, s);
}

Status gemm_run(const GemmParams& p, const GemmShape& s) {
  if (p.a.device.is_cuda()) return gemm_cuda(p, s, p.a.device.index);
  if (p.run_device >= 0) return gemm_cuda_host(p, s, p.run_device);
  return gemm_cpu(p, s);
}

Status gemm_cuda_host(const GemmParams& p, const GemmShape& s, int device) {
  if (!cuda::usable(device)) return NoGpu("CUDA device " + std::to_string(device) + " is not usable: " + cuda::probe().why_no_gpu);
  cuda::DeviceCopies d(device);
  GemmParams q = p;
  TK_RETURN_IF_ERROR(d.copy_in(p.a, &q.a, true));
  TK_RETURN_IF_ERROR(d.copy_in(p.b, &q.b, true));
  TK_RETURN_IF_ERROR(d.copy_in(p.bias, &q.bias, true));
  // c may be out itself (an in-place update): then out's device copy starts as c.
  const bool c_is_out = present(p.c) && p.c.data == p.out.data;
  TK_RETURN_IF_ERROR(d.copy_in(p.out, &q.out, c_is_out));
  if (c_is_out) {
    q.c = p.c;
    q.c.device = Device::cuda(device);
    q.c.data = q.out.data;
  } else {
    TK_RETURN_IF_ERROR(d.copy_in(p.c, &q.c, true));
  }
  q.run_device = -1;
  TK_RETURN_IF_ERROR(gemm_cuda(q, s, device));
  return cuda::copy_to_host(device, p.out.data, q.out.data, p.out.nbytes());
}

Status gemm_set_path(const std::string& device, const std::string& path, int splits, std::string* in_use) {
  if (device == "cpu") {
    if (splits != 0 || !gemm_cpu_set_blocks(path))
      return unknown_path("gemm", device, path, splits, "'auto', 'wide', 'split' or 'xeon' (splits 0)");
    *in_use = gemm_cpu_blocks();
  } else if (device == "cuda") {
    if (splits < 0 || splits > 64 || !gemm_cuda_set_path(path.c_str(), splits))
      return unknown_path("gemm", device, path, splits, "'auto', 'sm90', 'sm80' or 'simt' (splits 0..64)");
    *in_use = path;
  } else {
    return unknown_device("gemm", device);
  }
  return Status::Ok();
}

std::string gemm_last_kernel(const std::string& device) { return device == "cuda" ? gemm_cuda_last_kernel() : gemm_cpu_last_kernel(); }

#if !defined(TK_WITH_CUDA)
Status gemm_cuda(const GemmParams&, const GemmShape&, int) {
  return NoGpu("gemm on a CUDA device: this tensorkern binary was built without CUDA");
}
bool gemm_cuda_set_path(const char* tier, int) {
  const std::string t = tier;
  return t == "auto" || t == "sm90" || t == "sm80" || t == "simt";
}
std::string gemm_cuda_last_kernel() { return ""; }
#endif

}  // namespace tk

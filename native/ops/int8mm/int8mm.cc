// int8mm: validate + dispatch + the debug hooks (int8mm.h).
#include "int8mm.h"
#include "../quant_common/expect_tensor.h"

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>

#include "../../core/op_hooks.h"

namespace tk {
namespace {

// |acc| <= 127 * 127 * K must stay below 2^31.
constexpr int64_t kMaxK = (int64_t(1) << 31) / (127 * 127);

Status expect(const TensorView& t, const char* name, DType dt, std::initializer_list<int64_t> shape) {
  return expect_tensor("int8Matmul", t, name, dt, shape);
}

}  // namespace

Status int8mm_validate(const Int8MmParams& p, Int8MmShape* s) {
  if (p.x.ndim != 2 || p.w.ndim != 2)
    return InvalidArgument("Expected rank-2 int8Matmul x and w but received " + shape_str(p.x) + " and " + shape_str(p.w));
  if (p.x.dtype != DType::kFloat32)
    return TypeMismatch(std::string("Expected int8Matmul x of dtype float32 but received ") + dtype_name(p.x.dtype));
  if (p.w.dtype != DType::kInt8)
    return TypeMismatch(std::string("Expected int8Matmul w of dtype int8 but received ") + dtype_name(p.w.dtype));
  s->M = p.x.shape[0];
  s->K = p.x.shape[1];
  s->N = p.w.shape[0];
  if (p.w.shape[1] != s->K)
    return InvalidArgument("Expected int8Matmul w with K = " + std::to_string(s->K) + " columns (the columns of x) but received " +
                           shape_str(p.w));
  if (s->K > kMaxK)
    return InvalidArgument("Expected K <= " + std::to_string(kMaxK) + " (the exact int32 accumulation) but received " +
                           std::to_string(s->K));
  TK_RETURN_IF_ERROR(expect(p.scales, "scales", DType::kFloat32, {s->N}));
  TK_RETURN_IF_ERROR(expect(p.out, "out", DType::kFloat32, {s->M, s->N}));
  if (!(p.threshold > 0.0f)) return InvalidArgument("Expected an int8Matmul threshold > 0 (Infinity: no outlier columns)");
  if (present(p.packed) && (!p.packed.device.is_cpu() || p.packed.dtype != DType::kInt8 || p.packed.ndim != 1))
    return InvalidArgument("Expected int8Matmul packed weights as a rank-1 int8 host tensor but received " + shape_str(p.packed));
  TK_RETURN_IF_ERROR(make_matmul_epilogue("int8Matmul", p.out, p.bias, p.c, p.alpha, p.beta, &s->epi));
  TK_RETURN_IF_ERROR(check_same_device("int8Matmul", p.x.device, {&p.w, &p.scales, &p.out, &p.bias, &p.c}));
  return Status::Ok();
}

Status int8mm(const Int8MmParams& p, const Int8MmShape& s) {
  if (p.x.device.is_cuda()) return int8mm_cuda(p, s, p.x.device.index);
  return int8mm_cpu(p, s);
}

namespace {
// The CUDA kernel is opt-in until it has run on a GPU: TENSORKERN_INT8MM_KERNEL=tc, or
// debug.setPath('int8mm', 'cuda', 'tc').
std::atomic<bool> g_cuda_on{[] {
  const char* e = std::getenv("TENSORKERN_INT8MM_KERNEL");
  return e != nullptr && std::strcmp(e, "tc") == 0;
}()};
}  // namespace

bool int8mm_cuda_enabled() { return g_cuda_on.load(std::memory_order_relaxed); }

Status int8mm_set_path(const std::string& device, const std::string& path, int splits, std::string* in_use) {
  if (device == "cpu") {
    if (path != "auto" || splits != 0) return unknown_path("int8mm", device, path, splits, "'auto' (splits 0)");
  } else if (device == "cuda") {
    if ((path != "auto" && path != "tc") || splits != 0) return unknown_path("int8mm", device, path, splits, "'auto' or 'tc' (splits 0)");
    g_cuda_on.store(path == "tc");
  } else {
    return unknown_device("int8mm", device);
  }
  *in_use = path;
  return Status::Ok();
}

std::string int8mm_last_kernel(const std::string& device) {
  return device == "cuda" ? int8mm_cuda_last_kernel() : int8mm_cpu_last_kernel();
}

#if !defined(TK_WITH_CUDA)
Status int8mm_cuda(const Int8MmParams&, const Int8MmShape&, int) {
  return NoGpu("int8Matmul on a CUDA device: this tensorkern binary was built without CUDA");
}
std::string int8mm_cuda_last_kernel() { return ""; }
#endif

}  // namespace tk

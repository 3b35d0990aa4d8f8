#include "../../core/op_hooks.h"
#include "w4a4.h"
#include "../quant_common/expect_tensor.h"

#include <string>

namespace tk {
namespace {

Status expect(const TensorView& t, const char* name, DType dt, std::initializer_list<int64_t> shape) {
  return expect_tensor("", t, name, dt, shape);
}

}  // namespace

Status w4a4_validate(const W4A4Params& p, W4A4Shape* s) {
  if (p.x.ndim != 2 || p.w.ndim != 2)
    return InvalidArgument("Expected rank-2 x and w but received " + shape_str(p.x) + " and " + shape_str(p.w));
  const bool preq = p.x_scales.ndim >= 0;
  if (!preq && p.x.dtype != DType::kFloat32)
    return TypeMismatch(std::string("Expected x of dtype float32 but received ") + dtype_name(p.x.dtype));
  if (preq) {
    if (p.x.dtype != DType::kInt8)
      return TypeMismatch(std::string("Expected pre-quantized x of dtype int8 but received ") + dtype_name(p.x.dtype));
    if (p.act_bits != 4 && p.act_bits != 8) return InvalidArgument("Expected pre-quantized activations with 4 or 8 bits");
    if (p.x_scales.dtype != DType::kFloat32 || p.x_scales.ndim != 1 || p.x_scales.shape[0] != p.x.shape[0]) {
      return InvalidArgument("Expected x scales as float32 [" + std::to_string(p.x.shape[0]) + "] but received " + shape_str(p.x_scales));
    }
    if (p.outlier_idx.ndim >= 0)
      return InvalidArgument("Expected weights without outlier channels for pre-quantized activations (outliers need float activations)");
  }
  if (p.w.dtype != DType::kInt4) return TypeMismatch(std::string("Expected w of dtype int4 but received ") + dtype_name(p.w.dtype));
  s->M = p.x.shape[0];
  s->K = p.x.shape[1];
  s->N = p.w.shape[0];
  if (p.w.shape[1] != s->K)
    return InvalidArgument("Expected w with K = " + std::to_string(s->K) + " columns (the columns of x) but received " + shape_str(p.w));
  if (s->K % 2 != 0) return InvalidArgument("Expected an even K (int4 packing along K) but received " + std::to_string(s->K));
  if (p.act_bits != 0 && p.act_bits != 4 && p.act_bits != 8)
    return InvalidArgument("Expected act_bits 0, 4 or 8 but received " + std::to_string(p.act_bits));
  const int64_t gs = p.group_size;
  if (s->K > 0 && (gs <= 0 || gs % 2 != 0 || s->K % gs != 0)) {
    return InvalidArgument("Expected an even group size dividing K = " + std::to_string(s->K) + " but received " + std::to_string(gs));
  }
  s->G = s->K > 0 ? s->K / gs : 0;
  TK_RETURN_IF_ERROR(expect(p.scales, "scales", DType::kFloat32, {s->N, s->G}));
  TK_RETURN_IF_ERROR(expect(p.out, "out", DType::kFloat32, {s->M, s->N}));
  if (present(p.bias)) TK_RETURN_IF_ERROR(expect(p.bias, "bias", DType::kFloat32, {s->N}));
  if (present(p.c) && p.beta != 0.0f) TK_RETURN_IF_ERROR(expect(p.c, "c", DType::kFloat32, {s->M, s->N}));
  TK_RETURN_IF_ERROR(make_matmul_epilogue("w4a4", p.out, p.bias, p.c, p.alpha, p.beta, &s->epi));
  if (present(p.zero_points)) {
    TK_RETURN_IF_ERROR(expect(p.zero_points, "zero_points", DType::kInt8, {s->N, s->G}));
    if (p.act_bits != 0) return Unsupported("Asymmetric (zero-point) int4 weights run on the weight-only path only (int4Matmul)");
  }
  const int64_t rb = p.rotate_block;
  if (rb != 0) {
    if (rb < 2 || (rb & (rb - 1)) != 0 || gs % rb != 0)
      return InvalidArgument("Expected a rotation block that is a power of two dividing the group size " + std::to_string(gs) +
                             " but received " + std::to_string(rb));
  }
  if (present(p.outlier_idx)) {
    if (p.outlier_idx.dtype != DType::kInt32 || p.outlier_idx.ndim != 1)
      return TypeMismatch("Expected outlier channels as a rank-1 int32 tensor");
    s->nO = p.outlier_idx.shape[0];
    TK_RETURN_IF_ERROR(expect(p.outlier_w, "outlier weights", DType::kInt8, {s->N, s->nO}));
    TK_RETURN_IF_ERROR(expect(p.outlier_scales, "outlier scales", DType::kFloat32, {s->N}));
    const int32_t* idx = p.outlier_idx.as<int32_t>();
    for (int64_t j = 0; j < s->nO; ++j) {
      if (idx[j] < 0 || idx[j] >= s->K)
        return OutOfRange("Expected outlier channels in [0, " + std::to_string(s->K) + ") but received " + std::to_string(idx[j]));
      if (j > 0 && idx[j] <= idx[j - 1]) return InvalidArgument("Expected strictly increasing outlier channels");
    }
    if (p.act_bits == 0)
      return Unsupported("Outlier channels apply to quantized activations (w4a4Matmul / w4a8Matmul), not the weight-only path");
  } else if (present(p.outlier_w) || present(p.outlier_scales)) {
    return InvalidArgument("Expected outlier weights and scales only together with outlier channels");
  }
  const Device dev = p.x.device;
  return check_same_device(
      "w4a4", dev, {&p.x_scales, &p.w, &p.scales, &p.zero_points, &p.outlier_idx, &p.outlier_w, &p.outlier_scales, &p.bias, &p.c, &p.out});
}

Status w4a4(const W4A4Params& p) {
  W4A4Shape s;
  TK_RETURN_IF_ERROR(w4a4_validate(p, &s));
  if (p.x.device.is_cuda()) return w4a4_cuda(p, s, p.x.device.index);
  return w4a4_cpu(p, s);
}

Status w4a4_set_path(const std::string& device, const std::string& path, int splits, std::string* in_use) {
  if (device == "cpu") {
    if (splits != 0 || !w4a4_cpu_set_route(path)) return unknown_path("w4a4", device, path, splits, "'auto', 'tiles' or 'gemm' (splits 0)");
  } else if (device == "cuda") {
    if (splits != 0 || !w4a4_cuda_set_path(path.c_str()))
      return unknown_path("w4a4", device, path, splits, "'auto', 's4', 'int8' or 'simt' (splits 0)");
  } else {
    return unknown_device("w4a4", device);
  }
  *in_use = path;
  return Status::Ok();
}

std::string w4a4_last_kernel(const std::string& device) { return device == "cuda" ? w4a4_cuda_last_kernel() : w4a4_cpu_last_kernel(); }

#if !defined(TK_WITH_CUDA)
Status w4a4_cuda(const W4A4Params&, const W4A4Shape&, int) {
  return NoGpu("w4a4 on a CUDA device: this tensorkern binary was built without CUDA");
}
bool w4a4_cuda_set_path(const char* path) {
  const std::string t = path;
  return t == "auto" || t == "s4" || t == "int8" || t == "simt";
}
std::string w4a4_cuda_last_kernel() { return ""; }
#endif

}  // namespace tk

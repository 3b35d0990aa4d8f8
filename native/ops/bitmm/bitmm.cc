#include "bitmm.h"

#include <string>

#include "../../core/op_hooks.h"

namespace tk {
namespace {

Status check_planes(const TensorView& t, const char* name, int64_t K, int64_t* rows, int* bits, int64_t* W) {
  if (t.dtype != DType::kInt64)
    return TypeMismatch(std::string("Expected ") + name + " planes of dtype int64 but received " + dtype_name(t.dtype));
  const int64_t w = (K + 63) / 64;
  if (t.ndim != 3 || t.shape[1] < 1 || t.shape[1] > 8 || t.shape[2] != w)
    return InvalidArgument(std::string("Expected ") + name + " planes of shape [rows, bits 1..8, " + std::to_string(w) +
                           "] (K = " + std::to_string(K) + ") but received " + shape_str(t));
  *rows = t.shape[0];
  *bits = int(t.shape[1]);
  *W = w;
  return Status::Ok();
}

Status check_scales(const TensorView& t, const char* name, int64_t rows) {
  if (!present(t)) return Status::Ok();
  if (t.dtype != DType::kFloat32 || t.ndim != 1 || t.shape[0] != rows)
    return InvalidArgument(std::string("Expected ") + name + " scales as float32 [" + std::to_string(rows) + "] but received " +
                           shape_str(t));
  return Status::Ok();
}

}  // namespace

Status bitmm_validate(const BitmmParams& p, BitmmShape* s) {
  if (p.K < 0) return InvalidArgument("Expected K >= 0 but received " + std::to_string(p.K));
  for (int f : {p.a_format, p.b_format})
    if (f < 0 || f > 2) return InvalidArgument("Expected a bit format 0 (int), 1 (uint) or 2 (bipolar) but received " + std::to_string(f));
  TK_RETURN_IF_ERROR(check_planes(p.a, "a", p.K, &s->M, &s->ba, &s->W));
  TK_RETURN_IF_ERROR(check_planes(p.b, "b", p.K, &s->N, &s->bb, &s->W));
  s->K = p.K;
  const double bound = double(p.K) * double(bit_format_max_abs(p.a_format, s->ba)) * double(bit_format_max_abs(p.b_format, s->bb));
  if (bound > 2147483647.0)
    return OutOfRange("Expected K * max|a| * max|b| <= 2^31 - 1 (an exact int32 result) but received K = " + std::to_string(p.K) +
                      " with max|a| = " + std::to_string(bit_format_max_abs(p.a_format, s->ba)) +
                      ", max|b| = " + std::to_string(bit_format_max_abs(p.b_format, s->bb)));
  TK_RETURN_IF_ERROR(check_scales(p.a_scales, "a", s->M));
  TK_RETURN_IF_ERROR(check_scales(p.b_scales, "b", s->N));
  s->float_out = present(p.a_scales) || present(p.b_scales);
  const DType odt = s->float_out ? DType::kFloat32 : DType::kInt32;
  if (p.out.dtype != odt || p.out.ndim != 2 || p.out.shape[0] != s->M || p.out.shape[1] != s->N)
    return InvalidArgument(std::string("Expected out as ") + dtype_name(odt) + " [" + std::to_string(s->M) + ", " + std::to_string(s->N) +
                           "] but received " + dtype_name(p.out.dtype) + " " + shape_str(p.out));
  if (s->float_out) {
    TK_RETURN_IF_ERROR(make_matmul_epilogue("bitmm", p.out, p.bias, p.c, p.alpha, p.beta, &s->epi));
  } else {
    if (present(p.bias)) return InvalidArgument("Expected no bias for the integer form (bias applies to scaled operands)");
    if (p.alpha != 1.0f) return InvalidArgument("Expected alpha 1 for the integer form (exact int32 arithmetic)");
    if (p.beta != 0.0f && p.beta != 1.0f) return InvalidArgument("Expected beta 0 or 1 for the integer form (exact int32 arithmetic)");
    if (present(p.c) && p.beta != 0.0f && (p.c.dtype != DType::kInt32 || p.c.numel != p.out.numel))
      return InvalidArgument("Expected c as int32 of out's shape " + shape_str(p.out) + " but received " + dtype_name(p.c.dtype) + " " +
                             shape_str(p.c));
  }
  return check_same_device("bitmm", p.a.device, {&p.b, &p.a_scales, &p.b_scales, &p.out, &p.bias, &p.c});
}

Status bitmm(const BitmmParams& p) {
  BitmmShape s;
  TK_RETURN_IF_ERROR(bitmm_validate(p, &s));
  if (p.a.device.is_cuda()) return bitmm_cuda(p, s, p.a.device.index);
  return bitmm_cpu(p, s);
}

Status bitmm_set_path(const std::string& device, const std::string& path, int splits, std::string* in_use) {
  if (device == "cpu") {
    if (splits != 0 || !bitmm_cpu_set_path(path))
      return unknown_path("bitmm", device, path, splits, "'auto', 'vpopcntb', 'planes' or 'int8' (splits 0)");
  } else if (device == "cuda") {
    if (splits != 0 || !bitmm_cuda_set_path(path.c_str()))
      return unknown_path("bitmm", device, path, splits, "'auto', 'tc' or 'simt' (splits 0)");
  } else {
    return unknown_device("bitmm", device);
  }
  *in_use = path;
  return Status::Ok();
}

std::string bitmm_last_kernel(const std::string& device) { return device == "cuda" ? bitmm_cuda_last_kernel() : bitmm_cpu_last_kernel(); }

#if !defined(TK_WITH_CUDA)
Status bitmm_cuda(const BitmmParams&, const BitmmShape&, int) {
  return NoGpu("bitmm on a CUDA device: this tensorkern binary was built without CUDA");
}
bool bitmm_cuda_set_path(const char* path) {
  const std::string t = path;
  return t == "auto" || t == "tc" || t == "simt";
}
std::string bitmm_cuda_last_kernel() { return ""; }
#endif

}  // namespace tk

#include "tensor_check.h"

#include <cmath>
#include <string>

namespace tk {

std::string describe_number(double x) { return "number " + std::to_string(x); }

Status int_from_number(double d, int32_t lo, int32_t hi, const std::string& name, int32_t* out) {
  if (!(d >= lo && d <= hi) || d != std::floor(d)) {
    return OutOfRange("Expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "] for " + name + " but received " +
                      describe_number(d));
  }
  *out = static_cast<int32_t>(d);
  return Status::Ok();
}

Status shape_from_numbers(double dtype_code, const double* dims, size_t ndim, const std::string& name, TensorView* view) {
  int32_t code = 0;
  TK_RETURN_IF_ERROR(int_from_number(dtype_code, 0, kNumDTypes - 1, name + ".dtype", &code));
  const DType dtype = static_cast<DType>(code);
  if (ndim > static_cast<size_t>(kMaxDims)) {
    return OutOfRange("Expected at most " + std::to_string(kMaxDims) + " dimensions for " + name + ".shape but received " +
                      std::to_string(ndim));
  }
  int64_t d64[kMaxDims];
  for (size_t i = 0; i < ndim; ++i) {
    const double x = dims[i];
    // 2^53 - 1: every integer up to it is exact in a double (and the cast below is defined).
    if (!(x >= 0 && x <= 9007199254740991.0) || x != std::floor(x)) {
      return OutOfRange("Expected a non-negative integer for " + name + ".shape[" + std::to_string(i) + "] but received " +
                        describe_number(x));
    }
    d64[i] = static_cast<int64_t>(x);
  }
  Status s = make_shape(dtype, d64, static_cast<int>(ndim), view);
  if (!s.ok()) return Status(s.code(), name + ": " + s.message());
  return Status::Ok();
}

Status bind_host_storage(const std::string& name, void* base, size_t byte_offset, size_t byte_length, TensorView* view) {
  const size_t need = view->nbytes();
  if (byte_length != need) {
    return InvalidArgument("Expected " + std::to_string(need) + " bytes for " + name + ".data (shape x " + dtype_name(view->dtype) +
                           ") but received " + std::to_string(byte_length));
  }
  if (base == nullptr && need > 0) return InvalidArgument("Expected an attached ArrayBuffer for " + name + ".data (it was detached)");
  view->data = base == nullptr ? nullptr : static_cast<uint8_t*>(base) + byte_offset;
  if (reinterpret_cast<uintptr_t>(view->data) % dtype_align(view->dtype) != 0) {
    return InvalidArgument("Expected " + name + ".data aligned to " + std::to_string(dtype_align(view->dtype)) + " bytes");
  }
  view->device = Device::cpu();
  return Status::Ok();
}

Status bind_device_storage(const std::string& name, void* ptr, size_t bytes, int device, TensorView* view) {
  const size_t need = view->nbytes();
  if (bytes < need) {
    return InvalidArgument("Expected at least " + std::to_string(need) + " bytes for " + name + ".buffer but it holds " +
                           std::to_string(bytes));
  }
  view->data = ptr;
  view->device = Device::cuda(device);
  return Status::Ok();
}

}  // namespace tk

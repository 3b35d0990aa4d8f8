#include "status.h"

#include <string>

#include "tensor_view.h"

namespace tk {

const char* code_name(Code code) {
  switch (code) {
    case Code::kOk: return "OK";
    case Code::kTypeError: return "ERR_INVALID_ARG_TYPE";
    case Code::kInvalidArgument: return "ERR_INVALID_ARG_VALUE";
    case Code::kOutOfRange: return "ERR_OUT_OF_RANGE";
    case Code::kOutOfMemory: return "ERR_TK_OUT_OF_MEMORY";
    case Code::kNoGpu: return "ERR_TK_NO_GPU";
    case Code::kCuda: return "ERR_TK_CUDA";
    case Code::kUnsupported: return "ERR_TK_UNSUPPORTED";
    case Code::kDisposed: return "ERR_TK_DISPOSED";
    case Code::kInternal: return "ERR_TK_INTERNAL";
  }
  return "ERR_TK_INTERNAL";
}

Status make_shape(DType dtype, const int64_t* dims, int ndim, TensorView* out) {
  if (ndim < 0 || ndim > kMaxDims) {
    return OutOfRange("Expected at most " + std::to_string(kMaxDims) + " dimensions but received " + std::to_string(ndim));
  }
  int64_t n = 1;
  for (int i = 0; i < ndim; ++i) {
    if (dims[i] < 0) {
      return OutOfRange("Expected a non-negative size for dimension " + std::to_string(i) + " but received " + std::to_string(dims[i]));
    }
    if (__builtin_mul_overflow(n, dims[i], &n) || n > (int64_t(1) << 53)) {
      return OutOfRange("Expected a tensor of at most 2^53 elements but the shape overflows");
    }
    out->shape[i] = dims[i];
  }
  // Byte size must fit too (int64 elements: 8 bytes each).
  int64_t bytes;
  if (__builtin_mul_overflow(n, int64_t(dtype_bits(dtype) < 8 ? 1 : dtype_bits(dtype) / 8), &bytes)) {
    return OutOfRange("Expected a tensor whose byte size fits in 64 bits");
  }
  if (dtype == DType::kInt4 && ndim > 0 && (dims[ndim - 1] % 2) != 0) {
    return InvalidArgument("Expected an even last dimension for an int4 tensor (two nibbles per byte) but received " +
                           std::to_string(dims[ndim - 1]));
  }
  out->dtype = dtype;
  out->ndim = ndim;
  out->numel = n;
  return Status::Ok();
}

std::string shape_str(const TensorView& t) {
  std::string s = "[";
  for (int i = 0; i < t.ndim; ++i) s += (i ? ", " : "") + std::to_string(t.shape[i]);
  return s + "]";
}

Status check_same_device(const char* op, const Device& dev, std::initializer_list<const TensorView*> ts) {
  for (const TensorView* t : ts) {
    if (present(*t) && t->device != dev)
      return InvalidArgument(std::string("Expected every ") + op + " tensor on " + dev.str() + " but one is on " + t->device.str());
  }
  return Status::Ok();
}

}  // namespace tk

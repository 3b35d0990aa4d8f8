// TensorView: a non-owning, contiguous, row-major view of tensor storage (host or device).
// Everything that could touch memory (sizes, byte lengths, overflow) is checked when a view is made
// from JS values (native/napi/tensor_arg.cc); kernels may then trust it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "device.h"
#include "dtype.h"
#include "status.h"

namespace tk {

constexpr int kMaxDims = 8;

struct TensorView {
  void* data = nullptr;
  DType dtype = DType::kFloat32;
  Device device;
  int ndim = 0;
  int64_t shape[kMaxDims] = {};
  int64_t numel = 1;

  int64_t dim(int i) const { return shape[i < 0 ? ndim + i : i]; }
  size_t nbytes() const { return bytes_for(dtype, numel); }
  template <class T>
  T* as() const {
    return static_cast<T*>(data);
  }

  static size_t bytes_for(DType t, int64_t n) { return dtype_bits(t) >= 8 ? size_t(n) * size_t(dtype_bits(t) / 8) : size_t(n + 1) / 2; }
};

// Checks dims (non-negative, at most kMaxDims) and that numel and its byte size fit in int64
// without overflow. Used by the JS-facing unwrapping and by native code that builds views.
Status make_shape(DType dtype, const int64_t* dims, int ndim, TensorView* out);

// An optional tensor argument is absent when ndim == -1.
inline bool present(const TensorView& t) { return t.ndim >= 0; }

// An absent optional tensor (ndim -1).
inline TensorView absent_view() {
  TensorView t;
  t.ndim = -1;
  return t;
}

// A rank-2 CPU view [r, c] of `dtype` over `data` (an op's own scratch: sizes that came from validated
// tensors, so make_shape cannot fail).
inline TensorView host_view2(void* data, DType dtype, int64_t r, int64_t c) {
  TensorView t;
  const int64_t dims[2] = {r, c};
  (void)make_shape(dtype, dims, 2, &t);
  t.data = data;
  return t;
}

// Whether byte ranges [a, a + an) and [b, b + bn) share memory.
inline bool bytes_overlap(const void* a, size_t an, const void* b, size_t bn) {
  const char *pa = static_cast<const char*>(a), *pb = static_cast<const char*>(b);
  return pa < pb + bn && pb < pa + an;
}

// "[2, 3]": a view's shape for error messages.
std::string shape_str(const TensorView& t);

// Every present tensor of `ts` on `dev`, else "Expected every <op> tensor on <dev> but one is on ...".
Status check_same_device(const char* op, const Device& dev, std::initializer_list<const TensorView*> ts);

}  // namespace tk

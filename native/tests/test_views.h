// TensorViews over memory a check owns, for the native self-test and its check headers.
#pragma once
#include <cstdint>
#include <cstdio>
#include <vector>

#include "../core/tensor_view.h"

namespace tk_test {

// A view of `data` with dtype dt and the given shape (a bad shape is printed; the checks then fail on it).
inline tk::TensorView view(void* data, tk::DType dt, const std::vector<int64_t>& shape) {
  tk::TensorView v;
  const tk::Status s = tk::make_shape(dt, shape.data(), static_cast<int>(shape.size()), &v);
  if (!s.ok()) std::printf("bad shape: %s\n", s.message().c_str());
  v.data = data;
  return v;
}

// An absent optional tensor (ndim = -1).
inline tk::TensorView absent() {
  tk::TensorView v;
  v.ndim = -1;
  return v;
}

}  // namespace tk_test

// The shape / dtype check the quantized matmuls' validate functions share:
// "Expected <op> <name> of dtype <dt>" / "... of shape [a, b] but received [..]".
#pragma once
#include <cstdint>
#include <initializer_list>
#include <string>

#include "../../core/status.h"
#include "../../core/tensor_view.h"

namespace tk {

// op: the op's name as users see it ("int8Matmul"), or "" for none.
inline Status expect_tensor(const char* op, const TensorView& t, const char* name, DType dt, std::initializer_list<int64_t> shape) {
  const std::string what = std::string("Expected ") + op + (*op ? " " : "") + name;
  if (t.dtype != dt) return TypeMismatch(what + " of dtype " + dtype_name(dt) + " but received " + dtype_name(t.dtype));
  bool ok = t.ndim == static_cast<int>(shape.size());
  int i = 0;
  for (int64_t d : shape) ok = ok && t.shape[i++] == d;
  if (ok) return Status::Ok();
  std::string want = "[";
  i = 0;
  for (int64_t d : shape) want += (i++ ? ", " : "") + std::to_string(d);
  return InvalidArgument(what + " of shape " + want + "] but received " + shape_str(t));
}

}  // namespace tk

// dtype table. Mirrored by lib/dtype.ts: the codes and sizes must match (test/dtype.test.ts checks).
#pragma once
#include <cstddef>
#include <cstdint>

namespace tk {

enum class DType : int32_t {
  kFloat32 = 0,
  kFloat16 = 1,
  kBFloat16 = 2,
  kInt8 = 3,
  kInt4 = 4,  // two's-complement nibbles, two per byte, element 2i in the low nibble
  kInt32 = 5,
  kInt64 = 6,
  kBool = 7,  // one byte per element, 0 or 1 (masks); checked where the data is created
};
constexpr int kNumDTypes = 8;

inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::kFloat32: return "float32";
    case DType::kFloat16: return "float16";
    case DType::kBFloat16: return "bfloat16";
    case DType::kInt8: return "int8";
    case DType::kInt4: return "int4";
    case DType::kInt32: return "int32";
    case DType::kInt64: return "int64";
    case DType::kBool: return "bool";
  }
  return "unknown";
}

// Bits per element: int4 is 4, so byte sizes must go through TensorView::bytes_for().
inline int dtype_bits(DType t) {
  switch (t) {
    case DType::kFloat32: return 32;
    case DType::kFloat16: return 16;
    case DType::kBFloat16: return 16;
    case DType::kInt8: return 8;
    case DType::kInt4: return 4;
    case DType::kInt32: return 32;
    case DType::kInt64: return 64;
    case DType::kBool: return 8;
  }
  return 8;
}

inline bool dtype_valid(int32_t code) { return code >= 0 && code < kNumDTypes; }
// Alignment the data pointer must have (int4 is byte-addressed).
inline size_t dtype_align(DType t) { return dtype_bits(t) >= 8 ? size_t(dtype_bits(t) / 8) : 1; }
inline bool dtype_is_float(DType t) { return t == DType::kFloat32 || t == DType::kFloat16 || t == DType::kBFloat16; }

}  // namespace tk

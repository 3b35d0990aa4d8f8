#include <cstring>

#include "../../core/cpu_features.h"
#include "../../core/half.h"
#include "../../core/thread_pool.h"
#include "cast.h"

namespace tk {
namespace {

float load(DType t, const void* p, int64_t i) {
  switch (t) {
    case DType::kFloat16: return f16_to_f32(static_cast<const uint16_t*>(p)[i]);
    case DType::kBFloat16: return bf16_to_f32(static_cast<const uint16_t*>(p)[i]);
    default: return static_cast<const float*>(p)[i];
  }
}

void store(DType t, void* p, int64_t i, float v) {
  switch (t) {
    case DType::kFloat16: static_cast<uint16_t*>(p)[i] = f32_to_f16(v); break;
    case DType::kBFloat16: static_cast<uint16_t*>(p)[i] = f32_to_bf16(v); break;
    default: static_cast<float*>(p)[i] = v; break;
  }
}

void convert_range(DType from, DType to, const void* src, void* dst, int64_t begin, int64_t end) {
  size_t fb = size_t(dtype_bits(from) / 8), tb = size_t(dtype_bits(to) / 8);
  const void* s = static_cast<const char*>(src) + begin * fb;
  void* d = static_cast<char*>(dst) + begin * tb;
  int64_t n = end - begin;
  switch (active_isa()) {
    case Isa::kAvx512:
      if (cast_avx512(from, to, s, d, n)) return;
      [[fallthrough]];
    case Isa::kAvx2:
      if (cast_avx2(from, to, s, d, n)) return;
      break;
    case Isa::kNeon:
      if (cast_neon(from, to, s, d, n)) return;
      break;
    case Isa::kScalar: break;
  }
  for (int64_t i = 0; i < n; ++i) store(to, d, i, load(from, s, i));
}

}  // namespace

Status cast_cpu(const CastParams& p) {
  const int64_t n = p.src.numel;
  if (n == 0) return Status::Ok();
  if (p.src.dtype == p.dst.dtype) {
    if (p.src.data != p.dst.data) std::memmove(p.dst.data, p.src.data, p.src.nbytes());
    return Status::Ok();
  }
  // Memory-bound: a thread only pays off for large chunks.
  return parallel_for(n, int64_t(1) << 18,
                      [&](int64_t b, int64_t e) { convert_range(p.src.dtype, p.dst.dtype, p.src.data, p.dst.data, b, e); });
}

#if !defined(__x86_64__) && !defined(_M_X64)
bool cast_avx2(DType, DType, const void*, void*, int64_t) { return false; }
bool cast_avx512(DType, DType, const void*, void*, int64_t) { return false; }
#endif
#if !defined(__aarch64__)
bool cast_neon(DType, DType, const void*, void*, int64_t) { return false; }
#endif

}  // namespace tk

// CPU kernels of the block ops: plain loops over float32 rows. Inputs of any float dtype are
// converted into a per-thread float32 row buffer, computed on, and converted out; these ops are
// memory-bound, so the conversion passes cost little and keep one kernel per op.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <vector>

#include "../../core/half.h"
#include "../../core/thread_pool.h"
#include "block.h"
#include "block_index.h"

namespace tk {
namespace {

// Work below this many elements runs inline on the calling thread: a decode step's ops are a few
// thousand elements, where waking the pool costs more than the work.
constexpr int64_t kParallelElems = int64_t(1) << 16;

// fn(begin, end) over [0, n) items of `per_item` elements each: inline when small, else split.
template <class Fn>
Status for_items(int64_t n, int64_t per_item, Fn&& fn) {
  if (n <= 0) return Status::Ok();
  per_item = std::max<int64_t>(1, per_item);
  if (n * per_item <= kParallelElems) {
    fn(int64_t(0), n);
    return Status::Ok();
  }
  return parallel_for(n, std::max<int64_t>(1, kParallelElems / per_item), fn);
}

void load(DType t, const void* base, int64_t off, int64_t n, float* dst) {
  switch (t) {
    case DType::kFloat16: {
      const uint16_t* s = static_cast<const uint16_t*>(base) + off;
      for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(s[i]);
      break;
    }
    case DType::kBFloat16: {
      const uint16_t* s = static_cast<const uint16_t*>(base) + off;
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(s[i]);
      break;
    }
    default: std::memcpy(dst, static_cast<const float*>(base) + off, size_t(n) * 4); break;
  }
}

void store(DType t, void* base, int64_t off, int64_t n, const float* src) {
  switch (t) {
    case DType::kFloat16: {
      uint16_t* d = static_cast<uint16_t*>(base) + off;
      for (int64_t i = 0; i < n; ++i) d[i] = f32_to_f16(src[i]);
      break;
    }
    case DType::kBFloat16: {
      uint16_t* d = static_cast<uint16_t*>(base) + off;
      for (int64_t i = 0; i < n; ++i) d[i] = f32_to_bf16(src[i]);
      break;
    }
    default: std::memmove(static_cast<float*>(base) + off, src, size_t(n) * 4); break;
  }
}

// A per-thread float32 scratch of at least n floats (pool threads and the caller each keep one).
float* scratch(int slot, int64_t n) {
  thread_local std::vector<float> bufs[3];
  if (bufs[slot].size() < size_t(n)) bufs[slot].resize(size_t(n));
  return bufs[slot].data();
}

Status rms_norm(const BlockParams& p, const BlockDims& d) {
  const int64_t D = d.cols;
  std::vector<float> w(static_cast<size_t>(D));
  load(p.b.dtype, p.b.data, 0, D, w.data());
  return for_items(d.rows, D, [&](int64_t r0, int64_t r1) {
    float* x = scratch(0, D);
    for (int64_t r = r0; r < r1; ++r) {
      load(p.a.dtype, p.a.data, r * D, D, x);
      double ss = 0.0;
      for (int64_t j = 0; j < D; ++j) ss += double(x[j]) * double(x[j]);
      const float inv = 1.0f / std::sqrt(static_cast<float>(ss / double(D)) + p.eps);
      for (int64_t j = 0; j < D; ++j) x[j] = w[size_t(j)] * (x[j] * inv);
      store(p.out.dtype, p.out.data, r * D, D, x);
    }
  });
}

Status softmax(const BlockParams& p, const BlockDims& d) {
  const int64_t N = d.cols;
  return for_items(d.rows, N, [&](int64_t r0, int64_t r1) {
    float* x = scratch(0, N);
    for (int64_t r = r0; r < r1; ++r) {
      load(p.a.dtype, p.a.data, r * N, N, x);
      float m = -INFINITY;
      for (int64_t j = 0; j < N; ++j) m = std::max(m, x[j]);
      float sum = 0.0f;
      for (int64_t j = 0; j < N; ++j) sum += (x[j] = std::exp(x[j] - m));
      const float inv = 1.0f / sum;
      for (int64_t j = 0; j < N; ++j) x[j] *= inv;
      store(p.out.dtype, p.out.data, r * N, N, x);
    }
  });
}

// blk::ranks_before's argmax of a row in two branch-free passes (a compare per element and a data-
// dependent branch made the classifier's 32000 logits cost 48 us): the largest value over eight
// independent lanes, noting any NaN, then the first index holding it (or the first NaN). -0 and +0
// compare equal, so the first zero of either sign wins, as ranks_before has it.
int64_t argmax_row(const float* x, int64_t N) {
  // GCC / Clang vector extensions: SSE2 / NEON from the portable build, no ISA dispatch needed.
  typedef float v4f __attribute__((vector_size(16)));
  typedef int32_t v4i __attribute__((vector_size(16)));
  const float ninf = -INFINITY;
  v4f m0 = {ninf, ninf, ninf, ninf}, m1 = m0;
  v4i nan = {0, 0, 0, 0};
  int64_t j = 0;
  for (; j + 8 <= N; j += 8) {
    v4f a, b;
    std::memcpy(&a, x + j, sizeof a);
    std::memcpy(&b, x + j + 4, sizeof b);
    nan |= (a != a) | (b != b);
    m0 = a > m0 ? a : m0;
    m1 = b > m1 ? b : m1;
  }
  bool any_nan = (nan[0] | nan[1] | nan[2] | nan[3]) != 0;
  float m = ninf;
  for (int l = 0; l < 4; ++l) {
    m = m0[l] > m ? m0[l] : m;
    m = m1[l] > m ? m1[l] : m;
  }
  for (; j < N; ++j) {
    any_nan |= x[j] != x[j];
    m = x[j] > m ? x[j] : m;
  }
  if (any_nan) {
    for (j = 0; j < N; ++j)
      if (x[j] != x[j]) return j;
  }
  // The first m: eight at a time (a scalar scan with its branch per element was 70% of the time).
  const v4f mv = {m, m, m, m};
  for (j = 0; j + 8 <= N; j += 8) {
    v4f a, b;
    std::memcpy(&a, x + j, sizeof a);
    std::memcpy(&b, x + j + 4, sizeof b);
    const v4i eq = (a == mv) | (b == mv);
    uint64_t w[2];
    std::memcpy(w, &eq, sizeof w);
    if ((w[0] | w[1]) != 0) break;
  }
  for (; j < N; ++j)
    if (x[j] == m) return j;
  return 0;  // unreachable: some element equals m (a row of only -inf matches x[0])
}

Status argmax(const BlockParams& p, const BlockDims& d) {
  const int64_t N = d.cols;
  int32_t* out = p.out.as<int32_t>();
  return for_items(d.rows, N, [&](int64_t r0, int64_t r1) {
    float* x = p.a.dtype == DType::kFloat32 ? nullptr : scratch(0, N);
    for (int64_t r = r0; r < r1; ++r) {
      const float* row = p.a.as<float>() + r * N;
      if (x != nullptr) {
        load(p.a.dtype, p.a.data, r * N, N, x);
        row = x;
      }
      out[r] = static_cast<int32_t>(argmax_row(row, N));
    }
  });
}

Status topk(const BlockParams& p, const BlockDims& d) {
  const int64_t N = d.cols, K = p.k;
  float* values = p.out.as<float>();
  int32_t* indices = p.out2.as<int32_t>();
  return for_items(d.rows, N, [&](int64_t r0, int64_t r1) {
    float* x = scratch(0, N);
    std::vector<int32_t> order(static_cast<size_t>(N));
    for (int64_t r = r0; r < r1; ++r) {
      load(p.a.dtype, p.a.data, r * N, N, x);
      std::iota(order.begin(), order.end(), 0);
      std::partial_sort(order.begin(), order.begin() + K, order.end(),
                        [x](int32_t i, int32_t j) { return blk::ranks_before(x[i], i, x[j], j); });
      for (int64_t j = 0; j < K; ++j) {
        values[r * K + j] = x[order[size_t(j)]];
        indices[r * K + j] = order[size_t(j)];
      }
    }
  });
}

// Elementwise ops in chunks that fit L1: an out aliasing an input is read before it is written.
Status elementwise(const BlockParams& p, const BlockDims& d) {
  constexpr int64_t kChunk = 2048;
  const int64_t n = d.rows, nb = d.cols;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  return for_items(chunks, kChunk, [&](int64_t c0, int64_t c1) {
    float* x = scratch(0, kChunk);
    float* y = scratch(1, kChunk);
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t i0 = c * kChunk, len = std::min(kChunk, n - i0);
      load(p.a.dtype, p.a.data, i0, len, x);
      if (p.op == BlockOp::kSilu) {
        for (int64_t i = 0; i < len; ++i) x[i] = blk::silu(x[i]);
      } else if (p.op == BlockOp::kSwiglu) {
        load(p.b.dtype, p.b.data, i0, len, y);
        for (int64_t i = 0; i < len; ++i) x[i] = blk::silu(x[i]) * y[i];
      } else {
        // b broadcast over the leading dims: element i uses b[i % nb], loaded in runs.
        for (int64_t i = 0; i < len;) {
          const int64_t bi = (i0 + i) % nb, run = std::min(len - i, nb - bi);
          load(p.b.dtype, p.b.data, bi, run, y + i);
          i += run;
        }
        for (int64_t i = 0; i < len; ++i) x[i] += y[i];
      }
      store(p.out.dtype, p.out.data, i0, len, x);
    }
  });
}

Status rope(const BlockParams& p, const BlockDims& d, const int32_t* positions) {
  const int64_t H = d.H, D = d.D, half = D / 2, row = H * D;
  return for_items(d.B * d.S, row, [&](int64_t r0, int64_t r1) {
    float* x = scratch(0, row);
    float* cs = scratch(1, D);  // cos in [0, half), sin in [half, D)
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t pos = positions ? positions[r] : p.start + r % d.S;
      for (int64_t i = 0; i < half; ++i) {
        const float a = blk::rope_angle(p.theta, D, i, pos);
        cs[i] = std::cos(a);
        cs[half + i] = std::sin(a);
      }
      load(p.a.dtype, p.a.data, r * row, row, x);
      for (int64_t h = 0; h < H; ++h) {
        float* v = x + h * D;
        for (int64_t i = 0; i < half; ++i) {
          int64_t lo, hi;
          blk::rope_pair(p.rope_half, D, i, &lo, &hi);
          blk::rope_rotate(v[lo], v[hi], cs[i], cs[half + i], &v[lo], &v[hi]);
        }
      }
      store(p.out.dtype, p.out.data, r * row, row, x);
    }
  });
}

// Row copy with conversion (a plain copy when the dtypes agree).
void copy_row(const TensorView& src, int64_t so, const TensorView& dst, int64_t dof, int64_t n, float* buf) {
  if (src.dtype == dst.dtype) {
    const size_t es = size_t(dtype_bits(src.dtype) / 8);
    std::memmove(static_cast<char*>(dst.data) + size_t(dof) * es, static_cast<const char*>(src.data) + size_t(so) * es, size_t(n) * es);
    return;
  }
  load(src.dtype, src.data, so, n, buf);
  store(dst.dtype, dst.data, dof, n, buf);
}

Status embedding(const BlockParams& p, const BlockDims& d, const int32_t* ids) {
  const int64_t D = d.cols;
  return for_items(d.rows, D, [&](int64_t t0, int64_t t1) {
    float* buf = scratch(0, D);
    for (int64_t t = t0; t < t1; ++t) copy_row(p.a, int64_t(ids[t]) * D, p.out, t * D, D, buf);
  });
}

Status kv_append(const BlockParams& p, const BlockDims& d, const int32_t* pos) {
  const int64_t row = d.D;
  return for_items(d.B * d.S, row, [&](int64_t r0, int64_t r1) {
    float* buf = scratch(0, row);
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / d.S, s = r % d.S;
      copy_row(p.a, r * row, p.out, blk::kv_dst_index(b, s, 0, pos[b], d.H, row), row, buf);
    }
  });
}

}  // namespace

Status block_cpu(const BlockParams& p, const BlockDims& d, const int32_t* idx) {
  switch (p.op) {
    case BlockOp::kRmsNorm: return rms_norm(p, d);
    case BlockOp::kSoftmax: return softmax(p, d);
    case BlockOp::kArgmax: return argmax(p, d);
    case BlockOp::kTopk: return topk(p, d);
    case BlockOp::kSilu:
    case BlockOp::kSwiglu:
    case BlockOp::kAdd: return elementwise(p, d);
    case BlockOp::kRope: return rope(p, d, idx);
    case BlockOp::kEmbedding: return embedding(p, d, idx);
    case BlockOp::kKvAppend: return kv_append(p, d, idx);
  }
  return Internal("unknown block op");
}

}  // namespace tk

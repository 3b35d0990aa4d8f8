#include "block.h"

#include <climits>
#include <cmath>
#include <string>
#include <vector>

namespace tk {
namespace {

bool same_shape(const TensorView& x, const TensorView& y) {
  if (x.ndim != y.ndim) return false;
  for (int i = 0; i < x.ndim; ++i) {
    if (x.shape[i] != y.shape[i]) return false;
  }
  return true;
}

std::string dtype_shape(const TensorView& t) { return std::string(dtype_name(t.dtype)) + " " + shape_str(t); }

Status need_float(const TensorView& t, const char* name) {
  if (dtype_is_float(t.dtype)) return Status::Ok();
  return TypeMismatch(std::string("Expected a float32, float16 or bfloat16 tensor for ") + name + " but received " + dtype_shape(t));
}

Status need_dtype(const TensorView& t, DType dt, const char* name) {
  if (t.dtype == dt) return Status::Ok();
  return TypeMismatch(std::string("Expected ") + dtype_name(dt) + " for " + name + " but received " + dtype_shape(t));
}

// `out` of shape `want` (a view used only for its dims).
Status need_shape(const TensorView& t, const TensorView& want, const char* name) {
  if (same_shape(t, want)) return Status::Ok();
  return InvalidArgument(std::string("Expected shape ") + shape_str(want) + " for " + name + " but received " + shape_str(t));
}

Status need_host_int32(const TensorView& t, const char* name) {
  if (t.dtype != DType::kInt32)
    return TypeMismatch(std::string("Expected an int32 tensor for ") + name + " but received " + dtype_shape(t));
  if (!t.device.is_cpu())
    return InvalidArgument(std::string("Expected a host (cpu) tensor for ") + name +
                           " (read at run time) but received one on a CUDA device");
  return Status::Ok();
}

// A view with a's dims but the last replaced by n (n < 0: the last dropped).
TensorView with_last(const TensorView& a, int64_t n) {
  TensorView v = a;
  if (n < 0) {
    v.ndim = a.ndim - 1;
  } else {
    v.shape[a.ndim - 1] = n;
  }
  return v;
}

Status validate_rows(const BlockParams& p) {
  if (p.a.ndim < 1) return InvalidArgument(std::string("Expected a tensor of rank >= 1 for x but received shape ") + shape_str(p.a));
  const int64_t n = p.a.dim(-1);
  if (n > INT32_MAX)
    return InvalidArgument("Expected a last dim of at most 2147483647 (int32 indices) for x but received shape " + shape_str(p.a));
  switch (p.op) {
    case BlockOp::kRmsNorm:
      if (n < 1) return InvalidArgument("Expected a last dim D >= 1 for x but received shape " + shape_str(p.a));
      TK_RETURN_IF_ERROR(need_float(p.b, "weight"));
      if (p.b.ndim != 1 || p.b.shape[0] != n)
        return InvalidArgument("Expected shape [" + std::to_string(n) + "] (the last dim of x) for weight but received " + shape_str(p.b));
      TK_RETURN_IF_ERROR(need_float(p.out, "out"));
      return need_shape(p.out, p.a, "out");
    case BlockOp::kSoftmax: TK_RETURN_IF_ERROR(need_float(p.out, "out")); return need_shape(p.out, p.a, "out");
    case BlockOp::kArgmax:
      if (n < 1) return InvalidArgument("Expected a last dim N >= 1 for x but received shape " + shape_str(p.a));
      TK_RETURN_IF_ERROR(need_dtype(p.out, DType::kInt32, "out"));
      return need_shape(p.out, with_last(p.a, -1), "out");
    default:  // kTopk
      if (p.k < 1 || p.k > n)
        return OutOfRange("Expected k in [1, " + std::to_string(n) + "] (the last dim of x) but received " + std::to_string(p.k));
      TK_RETURN_IF_ERROR(need_dtype(p.out, DType::kFloat32, "values"));
      TK_RETURN_IF_ERROR(need_shape(p.out, with_last(p.a, p.k), "values"));
      TK_RETURN_IF_ERROR(need_dtype(p.out2, DType::kInt32, "indices"));
      return need_shape(p.out2, with_last(p.a, p.k), "indices");
  }
}

Status validate_elementwise(const BlockParams& p) {
  TK_RETURN_IF_ERROR(need_float(p.out, "out"));
  TK_RETURN_IF_ERROR(need_shape(p.out, p.a, "out"));
  if (p.op == BlockOp::kSwiglu) {
    TK_RETURN_IF_ERROR(need_float(p.b, "up"));
    return need_shape(p.b, p.a, "up");
  }
  if (p.op == BlockOp::kAdd) {
    TK_RETURN_IF_ERROR(need_float(p.b, "b"));
    bool suffix = p.b.ndim <= p.a.ndim;
    for (int i = 0; suffix && i < p.b.ndim; ++i) suffix = p.b.shape[i] == p.a.shape[p.a.ndim - p.b.ndim + i];
    if (!suffix || (p.b.numel == 0 && p.a.numel != 0)) {
      return InvalidArgument("Expected shape " + shape_str(p.a) +
                             " or a suffix of it (broadcast over the leading dims) for b but received " + shape_str(p.b));
    }
  }
  return Status::Ok();
}

Status validate_rope(const BlockParams& p) {
  if (p.a.ndim != 3 && p.a.ndim != 4)
    return InvalidArgument("Expected a rank-3 [S, H, D] or rank-4 [B, S, H, D] tensor for x but received shape " + shape_str(p.a));
  const int64_t D = p.a.dim(-1), S = p.a.dim(-3);
  if (D < 2 || D % 2 != 0) return InvalidArgument("Expected an even head dim D >= 2 for x but received shape " + shape_str(p.a));
  if (!(p.theta > 0.0f) || !std::isfinite(p.theta))
    return OutOfRange("Expected a finite theta > 0 but received " + std::to_string(p.theta));
  if (p.start < 0 || p.start > INT32_MAX)
    return OutOfRange("Expected positions in [0, 2147483647] but received " + std::to_string(p.start));
  TK_RETURN_IF_ERROR(need_float(p.out, "out"));
  TK_RETURN_IF_ERROR(need_shape(p.out, p.a, "out"));
  if (present(p.idx)) {
    TK_RETURN_IF_ERROR(need_host_int32(p.idx, "positions"));
    const bool ok = (p.idx.ndim == 1 && p.idx.shape[0] == S) ||
                    (p.a.ndim == 4 && p.idx.ndim == 2 && p.idx.shape[0] == p.a.shape[0] && p.idx.shape[1] == S);
    if (!ok) {
      return InvalidArgument("Expected shape [" + std::to_string(S) + "]" +
                             (p.a.ndim == 4 ? " or [" + std::to_string(p.a.shape[0]) + ", " + std::to_string(S) + "]" : std::string()) +
                             " for positions but received " + shape_str(p.idx));
    }
  }
  return Status::Ok();
}

Status validate_embedding(const BlockParams& p) {
  if (p.a.ndim != 2) return InvalidArgument("Expected a rank-2 tensor [V, D] for table but received shape " + shape_str(p.a));
  if (!present(p.idx)) return InvalidArgument("Expected an int32 tensor for ids but received none");
  TK_RETURN_IF_ERROR(need_host_int32(p.idx, "ids"));
  if (p.idx.ndim != 1 && p.idx.ndim != 2) return InvalidArgument("Expected shape [T] or [B, T] for ids but received " + shape_str(p.idx));
  TK_RETURN_IF_ERROR(need_float(p.out, "out"));
  TensorView want = p.idx;
  want.shape[want.ndim++] = p.a.shape[1];
  return need_shape(p.out, want, "out");
}

Status validate_kv_append(const BlockParams& p) {
  const TensorView& c = p.out;
  const TensorView& x = p.a;
  TK_RETURN_IF_ERROR(need_float(c, "cache"));
  if (p.seq_dim != 0 && p.seq_dim != 1) return InvalidArgument("Expected seqDim 0 or 1 but received " + std::to_string(p.seq_dim));
  const int sd = p.seq_dim;
  if (c.ndim < sd + 1)
    return InvalidArgument("Expected a tensor of rank >= " + std::to_string(sd + 1) + " for cache but received shape " + shape_str(c));
  bool ok = x.ndim == c.ndim;
  for (int i = 0; ok && i < c.ndim; ++i) ok = i == sd || x.shape[i] == c.shape[i];
  if (!ok) {
    TensorView want = c;
    std::string s = shape_str(want);
    return InvalidArgument("Expected the shape of cache " + s + " with any length in dim " + std::to_string(sd) + " for x but received " +
                           shape_str(x));
  }
  if (present(p.idx)) {
    TK_RETURN_IF_ERROR(need_host_int32(p.idx, "position"));
    const int64_t B = sd == 1 ? c.shape[0] : 1;
    if (p.idx.ndim != 1 || (p.idx.shape[0] != 1 && p.idx.shape[0] != B)) {
      return InvalidArgument("Expected shape [1]" + (B != 1 ? " or [" + std::to_string(B) + "]" : std::string()) +
                             " for position but received " + shape_str(p.idx));
    }
  } else if (p.start < 0 || p.start > INT32_MAX) {
    return OutOfRange("Expected position in [0, 2147483647] but received " + std::to_string(p.start));
  }
  return Status::Ok();
}

// Reads the int32 host values the op depends on, checks every one, and expands them to what the
// kernels index (see block.h). Runs inside block(), on every run.
Status read_indices(const BlockParams& p, const BlockDims& d, std::vector<int32_t>* v) {
  const int32_t* src = present(p.idx) ? p.idx.as<int32_t>() : nullptr;
  switch (p.op) {
    case BlockOp::kRope: {
      if (!src) return Status::Ok();
      const bool per_batch = p.idx.ndim == 2;
      v->resize(size_t(d.B * d.S));
      for (int64_t b = 0; b < d.B; ++b) {
        for (int64_t s = 0; s < d.S; ++s) {
          const int64_t at = (per_batch ? b * d.S : 0) + s;
          const int32_t pos = src[at];
          if (pos < 0) {
            return OutOfRange("Expected positions[" + std::to_string(at) + "] >= 0 but received " + std::to_string(pos));
          }
          (*v)[size_t(b * d.S + s)] = pos;
        }
      }
      return Status::Ok();
    }
    case BlockOp::kEmbedding: {
      const int64_t V = p.a.shape[0];
      for (int64_t t = 0; t < p.idx.numel; ++t) {
        if (src[t] < 0 || src[t] >= V) {
          return OutOfRange("Expected ids[" + std::to_string(t) + "] in [0, " + std::to_string(V) + ") (the rows of table) but received " +
                            std::to_string(src[t]));
        }
      }
      v->assign(src, src + p.idx.numel);
      return Status::Ok();
    }
    case BlockOp::kKvAppend: {
      if (d.S > d.H) {
        return OutOfRange("Expected at most " + std::to_string(d.H) + " rows (the cache length) in x but received " + std::to_string(d.S));
      }
      v->resize(size_t(d.B));
      for (int64_t b = 0; b < d.B; ++b) {
        const int64_t pos = src ? src[p.idx.shape[0] == 1 ? 0 : b] : p.start;
        if (pos < 0 || pos + d.S > d.H) {
          const std::string name = src ? (p.idx.shape[0] == 1 ? "position[0]" : "position[" + std::to_string(b) + "]") : "position";
          return OutOfRange("Expected " + name + " in [0, " + std::to_string(d.H - d.S) + "] (cache length " + std::to_string(d.H) +
                            " minus the " + std::to_string(d.S) + " rows of x) but received " + std::to_string(pos));
        }
        (*v)[size_t(b)] = static_cast<int32_t>(pos);
      }
      return Status::Ok();
    }
    default: return Status::Ok();
  }
}

}  // namespace

const char* block_op_name(BlockOp op) {
  switch (op) {
    case BlockOp::kRmsNorm: return "rmsNorm";
    case BlockOp::kRope: return "rope";
    case BlockOp::kSilu: return "silu";
    case BlockOp::kSwiglu: return "swiglu";
    case BlockOp::kAdd: return "add";
    case BlockOp::kSoftmax: return "softmax";
    case BlockOp::kEmbedding: return "embedding";
    case BlockOp::kArgmax: return "argmax";
    case BlockOp::kTopk: return "topk";
    case BlockOp::kKvAppend: return "kvAppend";
  }
  return "block";
}

BlockDims block_dims(const BlockParams& p) {
  BlockDims d;
  switch (p.op) {
    case BlockOp::kRope:
      d.B = p.a.ndim == 4 ? p.a.shape[0] : 1;
      d.S = p.a.dim(-3), d.H = p.a.dim(-2), d.D = p.a.dim(-1);
      break;
    case BlockOp::kSilu:
    case BlockOp::kSwiglu:
    case BlockOp::kAdd:
      d.rows = p.a.numel;
      d.cols = present(p.b) ? p.b.numel : 0;
      break;
    case BlockOp::kEmbedding: d.rows = p.idx.numel, d.cols = p.a.shape[1], d.H = p.a.shape[0]; break;
    case BlockOp::kKvAppend: {
      const int sd = p.seq_dim;
      d.B = sd == 1 ? p.out.shape[0] : 1;
      d.S = p.a.shape[sd], d.H = p.out.shape[sd];
      d.D = 1;
      for (int i = sd + 1; i < p.out.ndim; ++i) d.D *= p.out.shape[i];
      break;
    }
    default:  // row ops
      d.cols = p.a.dim(-1);
      d.rows = 1;
      for (int i = 0; i + 1 < p.a.ndim; ++i) d.rows *= p.a.shape[i];
      break;
  }
  return d;
}

Status block_validate(const BlockParams& p) {
  Status s;
  switch (p.op) {
    case BlockOp::kEmbedding: s = need_float(p.a, "table"); break;
    case BlockOp::kSwiglu: s = need_float(p.a, "gate"); break;
    case BlockOp::kAdd: s = need_float(p.a, "a"); break;
    default: s = need_float(p.a, "x"); break;
  }
  TK_RETURN_IF_ERROR(s);
  switch (p.op) {
    case BlockOp::kRmsNorm:
    case BlockOp::kSoftmax:
    case BlockOp::kArgmax:
    case BlockOp::kTopk: s = validate_rows(p); break;
    case BlockOp::kSilu:
    case BlockOp::kSwiglu:
    case BlockOp::kAdd: s = validate_elementwise(p); break;
    case BlockOp::kRope: s = validate_rope(p); break;
    case BlockOp::kEmbedding: s = validate_embedding(p); break;
    case BlockOp::kKvAppend: s = validate_kv_append(p); break;
    default: return InvalidArgument("Expected a block op code 0 to 9");
  }
  TK_RETURN_IF_ERROR(s);
  return check_same_device(block_op_name(p.op), p.a.device, {&p.b, &p.out, &p.out2});
}

Status block(const BlockParams& p) {
  TK_RETURN_IF_ERROR(block_validate(p));
  const BlockDims d = block_dims(p);
  std::vector<int32_t> idx;
  TK_RETURN_IF_ERROR(read_indices(p, d, &idx));
  const int32_t* ip = idx.empty() ? nullptr : idx.data();
  if (p.a.device.is_cuda()) return block_cuda(p, d, ip, int64_t(idx.size()));
  return block_cpu(p, d, ip);
}

#if !defined(TK_WITH_CUDA)
Status block_cuda(const BlockParams&, const BlockDims&, const int32_t*, int64_t) { return NoGpu("built without CUDA"); }
#endif

}  // namespace tk

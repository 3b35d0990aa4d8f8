// attention dispatcher and the memory-safety re-check of every argument (the JS layer checks first,
// with friendlier messages; this side must hold when the binding is called with garbage).
#include "../../core/op_hooks.h"
#include "attention.h"

#include <string>

namespace tk {
namespace {

std::string dims4(int64_t a, int64_t b, int64_t c, int64_t d) {
  return "[" + std::to_string(a) + ", " + std::to_string(b) + ", " + std::to_string(c) + ", " + std::to_string(d) + "]";
}

}  // namespace

Status attention_validate(const AttentionParams& p, AttentionShape* s) {
  const TensorView &q = p.q, &k = p.k, &v = p.v;
  if (q.ndim != 4 || k.ndim != 4 || v.ndim != 4) {
    return InvalidArgument("Expected rank-4 q, k and v but received " + shape_str(q) + ", " + shape_str(k) + " and " + shape_str(v));
  }
  if (!dtype_is_float(q.dtype))
    return TypeMismatch(std::string("Expected q of dtype float32, float16 or bfloat16 but received ") + dtype_name(q.dtype));
  if (k.dtype != q.dtype || v.dtype != q.dtype) {
    return TypeMismatch(std::string("Expected q, k and v of one dtype but received ") + dtype_name(q.dtype) + ", " + dtype_name(k.dtype) +
                        " and " + dtype_name(v.dtype));
  }
  const int hd = p.bshd ? 2 : 1, sd = p.bshd ? 1 : 2;
  s->B = q.shape[0];
  s->Hq = q.shape[hd];
  s->Sq = q.shape[sd];
  s->D = q.shape[3];
  s->Hkv = k.shape[hd];
  s->Sk = k.shape[sd];
  s->Dv = v.shape[3];
  if (v.shape[0] != k.shape[0] || v.shape[1] != k.shape[1] || v.shape[2] != k.shape[2]) {
    return InvalidArgument("Expected k and v of one batch, head count and length but received " + shape_str(k) + " and " + shape_str(v));
  }
  if (k.shape[0] != s->B) return InvalidArgument("Expected k with batch " + std::to_string(s->B) + " but received " + shape_str(k));
  if (k.shape[3] != s->D)
    return InvalidArgument("Expected k with head dim " + std::to_string(s->D) + " (that of q) but received " + shape_str(k));
  if (s->Hkv == 0 ? s->Hq != 0 : s->Hq % s->Hkv != 0) {
    return InvalidArgument("Expected the query heads (" + std::to_string(s->Hq) + ") to be a multiple of the kv heads (" +
                           std::to_string(s->Hkv) + ")");
  }
  s->group = s->Hkv == 0 ? 1 : s->Hq / s->Hkv;
  // Element strides of the layouts (row-major): (batch, head, sequence) of a [B, H, S, E] or [B, S, H, E] tensor.
  auto strides = [&](int64_t H, int64_t S, int64_t E, int64_t* sb, int64_t* sh, int64_t* ss) {
    if (p.bshd)
      *ss = H * E, *sh = E, *sb = S * H * E;
    else
      *ss = E, *sh = S * E, *sb = H * S * E;
  };
  strides(s->Hq, s->Sq, s->D, &s->qb, &s->qh, &s->qs);
  strides(s->Hkv, s->Sk, s->D, &s->kb, &s->kh, &s->ks);
  strides(s->Hkv, s->Sk, s->Dv, &s->vb, &s->vh, &s->vs);
  strides(s->Hq, s->Sq, s->Dv, &s->ob, &s->oh, &s->os);
  const int64_t out_shape[4] = {q.shape[0], q.shape[1], q.shape[2], s->Dv};
  if (p.out.ndim != 4 || p.out.shape[0] != out_shape[0] || p.out.shape[1] != out_shape[1] || p.out.shape[2] != out_shape[2] ||
      p.out.shape[3] != out_shape[3]) {
    return InvalidArgument("Expected out of shape " + dims4(out_shape[0], out_shape[1], out_shape[2], out_shape[3]) + " but received " +
                           shape_str(p.out));
  }
  if (!dtype_is_float(p.out.dtype))
    return TypeMismatch(std::string("Expected out of dtype float32, float16 or bfloat16 but received ") + dtype_name(p.out.dtype));
  if (present(p.lse)) {
    if (p.lse.dtype != DType::kFloat32)
      return TypeMismatch(std::string("Expected lse of dtype float32 but received ") + dtype_name(p.lse.dtype));
    if (p.lse.ndim != 3 || p.lse.shape[0] != s->B || p.lse.shape[1] != s->Hq || p.lse.shape[2] != s->Sq) {
      return InvalidArgument("Expected lse of shape [" + std::to_string(s->B) + ", " + std::to_string(s->Hq) + ", " +
                             std::to_string(s->Sq) + "] but received " + shape_str(p.lse));
    }
  }
  s->has_mask = present(p.mask);
  s->mask_keys = s->Sk;
  if (s->has_mask) {
    const TensorView& m = p.mask;
    if (m.dtype != DType::kInt8 && m.dtype != DType::kBool && !dtype_is_float(m.dtype)) {
      return TypeMismatch(
          std::string("Expected mask of dtype bool / int8 (boolean) or float32 / float16 / bfloat16 (additive) but received ") +
          dtype_name(m.dtype));
    }
    s->mask_bool = m.dtype == DType::kInt8 || m.dtype == DType::kBool;
    if (m.ndim < 1 || m.ndim > 4)
      return InvalidArgument("Expected a mask of rank 1 to 4 broadcastable to " + dims4(s->B, s->Hq, s->Sq, s->Sk) + " but received " +
                             shape_str(m));
    const int64_t full[4] = {s->B, s->Hq, s->Sq, s->Sk};
    int64_t stride[4] = {0, 0, 0, 0};
    int64_t st = 1;
    for (int i = 3, mi = m.ndim - 1; mi >= 0; --i, --mi) {
      const int64_t d = m.shape[mi];
      // The key dim may also be shorter than Sk: the keys past it are hidden.
      const bool ok = d == 1 || d == full[i] || (i == 3 && d >= 1 && d < full[i]);
      if (!ok)
        return InvalidArgument("Expected a mask broadcastable to " + dims4(s->B, s->Hq, s->Sq, s->Sk) + " but received " + shape_str(m));
      stride[i] = d == 1 ? 0 : st;
      st *= d;
    }
    s->mb = stride[0], s->mh = stride[1], s->mi = stride[2], s->mj = stride[3];
    const int64_t mk = m.shape[m.ndim - 1];
    s->mask_keys = mk == 1 ? s->Sk : mk;
  }
  if (present(p.kv_lengths)) {
    const TensorView& L = p.kv_lengths;
    if (L.dtype != DType::kInt32 || L.ndim != 1 || L.shape[0] != s->B) {
      return InvalidArgument("Expected kvLengths as int32 [" + std::to_string(s->B) + "] but received " + dtype_name(L.dtype) + " " +
                             shape_str(L));
    }
    if (L.device.is_cpu()) {
      for (int64_t b = 0; b < s->B; ++b) {
        const int32_t x = L.as<int32_t>()[b];
        if (x < 0 || x > s->Sk)
          return OutOfRange("Expected kvLengths[" + std::to_string(b) + "] in [0, " + std::to_string(s->Sk) + "] but received " +
                            std::to_string(x));
      }
    }
  }
  if (p.has_causal_offset && (p.causal_offset < -s->Sq || p.causal_offset > s->Sk)) {
    return OutOfRange("Expected causalOffset in [" + std::to_string(-s->Sq) + ", " + std::to_string(s->Sk) + "] (-Sq to Sk) but received " +
                      std::to_string(p.causal_offset));
  }
  if (p.qk_stage != kQkNone) {
    if (p.qk_stage < kQkScores || p.qk_stage > kQkSoftmax)
      return InvalidArgument("Expected a qk stage of 0 to 3 but received " + std::to_string(p.qk_stage));
    const TensorView& o = p.qk_out;
    if (!present(o) || o.dtype != DType::kFloat32 || o.ndim != 4 || o.shape[0] != s->B || o.shape[1] != s->Hq || o.shape[2] != s->Sq ||
        o.shape[3] != s->Sk) {
      return InvalidArgument("Expected qkOutput as float32 " + dims4(s->B, s->Hq, s->Sq, s->Sk) + " but received " +
                             (present(o) ? std::string(dtype_name(o.dtype)) + " " + shape_str(o) : std::string("none")));
    }
    if (!q.device.is_cpu()) return Unsupported("qkOutput (the materialized score matrix, a debugging slow path) runs on CPU tensors only");
  }
  const Device dev = q.device;
  TK_RETURN_IF_ERROR(check_same_device("attention", dev, {&k, &v, &p.out, &p.mask, &p.kv_lengths, &p.lse}));
  return p.qk_stage == kQkNone ? Status::Ok() : check_same_device("attention", dev, {&p.qk_out});
}

Status attention(const AttentionParams& p) {
  AttentionShape s;
  TK_RETURN_IF_ERROR(attention_validate(p, &s));
  if (p.q.device.is_cuda()) return attention_cuda(p, s, p.q.device.index);
  TK_RETURN_IF_ERROR(attention_cpu(p, s));
  return p.qk_stage == kQkNone ? Status::Ok() : attention_qk_output(p, s);
}

Status attention_set_path(const std::string& device, const std::string& path, int splits, std::string* in_use) {
  if (device == "cpu") {
    if ((path != "auto" && path != "tiles") || splits != 0)
      return unknown_path("attention", device, path, splits, "'auto' or 'tiles' (splits 0)");
    attention_cpu_set_decode(path == "auto");
  } else if (device == "cuda") {
    if (splits < 0 || splits > 128 || !attention_cuda_set_path(path.c_str(), splits))
      return unknown_path("attention", device, path, splits, "'auto', 'sm90', 'decode', 'sm80' or 'simt' (splits 0..128)");
  } else {
    return unknown_device("attention", device);
  }
  *in_use = path;
  return Status::Ok();
}

std::string attention_last_kernel(const std::string& device) {
  return device == "cuda" ? attention_cuda_last_kernel() : attention_cpu_last_kernel();
}

#if !defined(TK_WITH_CUDA)
Status attention_cuda(const AttentionParams&, const AttentionShape&, int) {
  return NoGpu("attention on a CUDA device: this tensorkern binary was built without CUDA");
}
bool attention_cuda_set_path(const char* kernel, int splits) {
  const std::string t = kernel;
  return splits >= 0 && (t == "auto" || t == "sm80" || t == "simt");
}
std::string attention_cuda_last_kernel() { return ""; }
#endif

}  // namespace tk

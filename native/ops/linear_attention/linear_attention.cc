// linear_attention dispatcher, the memory-safety re-check of every argument (the JS layer checks first,
// with friendlier messages; this side must hold when the binding is called with garbage), the hooks.
#include "linear_attention.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

#include "../../core/op_hooks.h"

namespace tk {
namespace {

std::string dims4(int64_t a, int64_t b, int64_t c, int64_t d) {
  return "[" + std::to_string(a) + ", " + std::to_string(b) + ", " + std::to_string(c) + ", " + std::to_string(d) + "]";
}

// Each decay in (0, 1]; non-causal takes 1 only. Host values, read when the op runs.
Status check_decay(const LinearAttentionParams& p) {
  if (!present(p.decay)) return Status::Ok();
  const float* d = p.decay.as<const float>();
  for (int64_t h = 0; h < p.decay.numel; ++h) {
    const float x = d[h];
    if (!(x > 0.0f && x <= 1.0f))
      return OutOfRange("Expected decay[" + std::to_string(h) + "] in (0, 1] but received " + std::to_string(x));
    if (!p.causal && x != 1.0f)
      return InvalidArgument("Expected decay 1 with causal: false (O = scale * Q (K^T V) has no order) but received decay[" +
                             std::to_string(h) + "] = " + std::to_string(x));
  }
  return Status::Ok();
}

Status check_state(const TensorView& t, const char* name, const LinearAttentionShape& s) {
  if (!present(t)) return Status::Ok();
  if (t.dtype != DType::kFloat32)
    return TypeMismatch(std::string("Expected ") + name + " of dtype float32 but received " + dtype_name(t.dtype));
  if (t.ndim != 4 || t.shape[0] != s.B || t.shape[1] != s.H || t.shape[2] != s.D || t.shape[3] != s.Dv)
    return InvalidArgument(std::string("Expected ") + name + " of shape " + dims4(s.B, s.H, s.D, s.Dv) + " ([B, H, D, Dv]) but received " +
                           shape_str(t));
  return Status::Ok();
}

}  // namespace

Status linear_attention_validate(const LinearAttentionParams& p, LinearAttentionShape* s) {
  const TensorView &q = p.q, &k = p.k, &v = p.v;
  if (q.ndim != 4 || k.ndim != 4 || v.ndim != 4)
    return InvalidArgument("Expected rank-4 q, k and v but received " + shape_str(q) + ", " + shape_str(k) + " and " + shape_str(v));
  if (!dtype_is_float(q.dtype))
    return TypeMismatch(std::string("Expected q of dtype float32, float16 or bfloat16 but received ") + dtype_name(q.dtype));
  if (k.dtype != q.dtype || v.dtype != q.dtype)
    return TypeMismatch(std::string("Expected q, k and v of one dtype but received ") + dtype_name(q.dtype) + ", " + dtype_name(k.dtype) +
                        " and " + dtype_name(v.dtype));
  for (int i = 0; i < 4; ++i)
    if (k.shape[i] != q.shape[i]) return InvalidArgument("Expected k of the shape of q " + shape_str(q) + " but received " + shape_str(k));
  if (v.shape[0] != q.shape[0] || v.shape[1] != q.shape[1] || v.shape[2] != q.shape[2])
    return InvalidArgument("Expected v with the batch, heads and length of q " + shape_str(q) + " but received " + shape_str(v));
  const int hd = p.bshd ? 2 : 1, sd = p.bshd ? 1 : 2;
  s->B = q.shape[0], s->H = q.shape[hd], s->S = q.shape[sd], s->D = q.shape[3], s->Dv = v.shape[3];
  if (s->D < 1 || s->Dv < 1)
    return InvalidArgument("Expected head dims D >= 1 and Dv >= 1 but received q " + shape_str(q) + " and v " + shape_str(v));
  auto strides = [&](int64_t E, int64_t* sb, int64_t* sh, int64_t* ss) {
    if (p.bshd)
      *ss = s->H * E, *sh = E, *sb = s->S * s->H * E;
    else
      *ss = E, *sh = s->S * E, *sb = s->H * s->S * E;
  };
  strides(s->D, &s->qb, &s->qh, &s->qs);
  strides(s->Dv, &s->vb, &s->vh, &s->vs);
  strides(s->Dv, &s->ob, &s->oh, &s->os);
  if (p.out.ndim != 4 || p.out.shape[0] != q.shape[0] || p.out.shape[1] != q.shape[1] || p.out.shape[2] != q.shape[2] ||
      p.out.shape[3] != s->Dv)
    return InvalidArgument("Expected out of shape " + dims4(q.shape[0], q.shape[1], q.shape[2], s->Dv) + " but received " +
                           shape_str(p.out));
  if (!dtype_is_float(p.out.dtype))
    return TypeMismatch(std::string("Expected out of dtype float32, float16 or bfloat16 but received ") + dtype_name(p.out.dtype));
  if (present(p.decay)) {
    if (p.decay.dtype != DType::kFloat32 || p.decay.ndim != 1 || p.decay.shape[0] != s->H)
      return InvalidArgument("Expected decay as float32 [" + std::to_string(s->H) + "] but received " + dtype_name(p.decay.dtype) + " " +
                             shape_str(p.decay));
    if (!p.decay.device.is_cpu()) return InvalidArgument("Expected decay in host memory (a cpu tensor)");
  }
  TK_RETURN_IF_ERROR(check_state(p.state_in, "state", *s));
  TK_RETURN_IF_ERROR(check_state(p.state_out, "the state output", *s));
  TK_RETURN_IF_ERROR(check_decay(p));
  return check_same_device("linearAttention", q.device, {&k, &v, &p.out, &p.state_in, &p.state_out});
}

Status linear_attention(const LinearAttentionParams& p) {
  LinearAttentionShape s;
  TK_RETURN_IF_ERROR(linear_attention_validate(p, &s));
  if (p.q.device.is_cuda()) return linear_attention_cuda(p, s, p.q.device.index);
  return linear_attention_cpu(p, s);
}

namespace {
// The CUDA kernels are opt-in until they have run on a GPU: TENSORKERN_LINEAR_ATTENTION_KERNEL=simt or
// sm80, or debug.setPath('linearAttention', 'cuda', 'simt' | 'sm80'). 0 off, 1 simt, 2 sm80.
int tier_of(const char* e) { return e == nullptr ? 0 : std::strcmp(e, "simt") == 0 ? 1 : std::strcmp(e, "sm80") == 0 ? 2 : 0; }
std::atomic<int> g_cuda_tier{tier_of(std::getenv("TENSORKERN_LINEAR_ATTENTION_KERNEL"))};
}  // namespace

bool linear_attention_cuda_enabled() { return g_cuda_tier.load(std::memory_order_relaxed) != 0; }
std::string linear_attention_cuda_tier() {
  const int t = g_cuda_tier.load(std::memory_order_relaxed);
  return t == 2 ? "sm80" : t == 1 ? "simt" : "auto";
}
bool linear_attention_cuda_set_enabled(const std::string& path) {
  if (path != "auto" && path != "simt" && path != "sm80") return false;
  g_cuda_tier.store(path == "sm80" ? 2 : path == "simt" ? 1 : 0);
  return true;
}

Status linear_attention_set_path(const std::string& device, const std::string& path, int splits, std::string* in_use) {
  if (device == "cpu") {
    if (path != "auto" || splits != 0) return unknown_path("linearAttention", device, path, splits, "'auto' (splits 0)");
  } else if (device == "cuda") {
    if (splits != 0 || !linear_attention_cuda_set_enabled(path))
      return unknown_path("linearAttention", device, path, splits, "'auto', 'simt' or 'sm80' (splits 0)");
  } else {
    return unknown_device("linearAttention", device);
  }
  *in_use = path;
  return Status::Ok();
}

std::string linear_attention_last_kernel(const std::string& device) {
  return device == "cuda" ? linear_attention_cuda_last_kernel() : std::string(linear_attention_cpu_last_kernel());
}

#if !defined(TK_WITH_CUDA)
Status linear_attention_cuda(const LinearAttentionParams&, const LinearAttentionShape&, int) {
  return NoGpu("linearAttention on a CUDA device: this tensorkern binary was built without CUDA");
}
std::string linear_attention_cuda_last_kernel() { return ""; }
#endif

}  // namespace tk

#include "monarch.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

#include "../../core/op_hooks.h"

namespace tk {
namespace {

Status check_float(const TensorView& t, const char* name) {
  if (!dtype_is_float(t.dtype))
    return TypeMismatch(std::string("Expected ") + name + " of dtype float32, float16 or bfloat16 but received " + dtype_name(t.dtype));
  return Status::Ok();
}

}  // namespace

Status monarch_validate(const MonarchParams& p, MonarchShape* s) {
  const TensorView &x = p.x, &w1 = p.w1, &w2 = p.w2, &out = p.out;
  TK_RETURN_IF_ERROR(check_float(x, "x"));
  TK_RETURN_IF_ERROR(check_float(w1, "w1"));
  TK_RETURN_IF_ERROR(check_float(w2, "w2"));
  TK_RETURN_IF_ERROR(check_float(out, "out"));
  if (x.ndim < 1) return InvalidArgument("Expected x of rank 1 or more but received " + shape_str(x));
  if (w1.ndim != 3) return InvalidArgument("Expected w1 of rank 3 [k, q, p] but received " + shape_str(w1));
  if (w2.ndim != 3) return InvalidArgument("Expected w2 of rank 3 [l, s, r] but received " + shape_str(w2));
  s->n = x.dim(-1);
  s->batch = s->n > 0 ? x.numel / s->n : 1;
  if (s->n == 0)
    for (int i = 0; i + 1 < x.ndim; ++i) s->batch *= x.shape[i];
  s->k = w1.shape[0], s->q = w1.shape[1], s->p = w1.shape[2];
  s->l = w2.shape[0], s->s = w2.shape[1], s->r = w2.shape[2];
  if (s->k * s->p != s->n)
    return InvalidArgument("Expected w1 [k, q, p] with k * p = " + std::to_string(s->n) + " (the last dim of x) but received " +
                           shape_str(w1));
  if (s->l * s->r != s->k * s->q)
    return InvalidArgument("Expected w2 [l, s, r] with l * r = " + std::to_string(s->k * s->q) + " (k * q of w1) but received " +
                           shape_str(w2));
  // out: x's leading dims, then l * s.
  bool ok = out.ndim == x.ndim && out.dim(-1) == s->n_out();
  for (int i = 0; ok && i + 1 < x.ndim; ++i) ok = out.shape[i] == x.shape[i];
  if (!ok) {
    TensorView want = x;
    want.shape[want.ndim - 1] = s->n_out();
    return InvalidArgument("Expected out of shape " + shape_str(want) + " but received " + shape_str(out));
  }
  return check_same_device("monarch", x.device, {&w1, &w2, &out});
}

Status monarch(const MonarchParams& p) {
  MonarchShape s;
  TK_RETURN_IF_ERROR(monarch_validate(p, &s));
  return monarch_run(p, s);
}

Status monarch_run(const MonarchParams& p, const MonarchShape& s) {
  if (p.x.device.is_cuda()) return monarch_cuda(p, s, p.x.device.index);
  return monarch_cpu(p, s);
}

namespace {
// The CUDA kernel is opt-in until it has run on a GPU: TENSORKERN_MONARCH_KERNEL=simt, or
// debug.setPath('monarch', 'cuda', 'simt').
std::atomic<bool> g_cuda_on{[] {
  const char* e = std::getenv("TENSORKERN_MONARCH_KERNEL");
  return e != nullptr && std::strcmp(e, "simt") == 0;
}()};
}  // namespace

bool monarch_cuda_enabled() { return g_cuda_on.load(std::memory_order_relaxed); }
bool monarch_cuda_set_enabled(const std::string& path) {
  if (path != "auto" && path != "simt") return false;
  g_cuda_on.store(path == "simt");
  return true;
}

Status monarch_set_path(const std::string& device, const std::string& path, int splits, std::string* in_use) {
  if (device == "cpu") {
    if (path != "auto" || splits != 0) return unknown_path("monarch", device, path, splits, "'auto' (splits 0)");
    *in_use = "auto";
  } else if (device == "cuda") {
    if (splits != 0 || !monarch_cuda_set_enabled(path)) return unknown_path("monarch", device, path, splits, "'auto' or 'simt' (splits 0)");
    *in_use = path;
  } else {
    return unknown_device("monarch", device);
  }
  return Status::Ok();
}

#if !defined(TK_WITH_CUDA)
Status monarch_cuda(const MonarchParams&, const MonarchShape&, int) {
  return NoGpu("monarch on a CUDA device: this tensorkern binary was built without CUDA");
}
std::string monarch_cuda_last_kernel() { return ""; }
#endif

}  // namespace tk

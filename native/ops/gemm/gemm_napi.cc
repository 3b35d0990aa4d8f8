// ops.gemm(params, async) -- params as lib/binding.ts GemmParams, validated once here --,
// ops.gemmPackLayout(dtype, K, N) and ops.gemmPackB({ b, transB, dst, layout }, async).
#include "../../napi/async_op.h"
#include "../../napi/op_params.h"
#include "../../napi/register.h"
#include "gemm.h"

namespace tk::napi {

void read_gemm(const Params& in, GemmParams* p, GemmShape* s, KeepAlive* keep) {
  Napi::Env env = in.env();
  p->a = in.tensor(Key::a, keep);
  p->b = in.tensor(Key::b, keep);
  p->c = in.optional_tensor(Key::c, keep);
  p->bias = in.optional_tensor(Key::bias, keep);
  p->out = in.tensor(Key::out, keep);
  p->trans_a = in.boolean(Key::transA);
  p->trans_b = in.boolean(Key::transB);
  p->alpha = static_cast<float>(in.number(Key::alpha));
  p->beta = static_cast<float>(in.number(Key::beta));
  // Host tensors computed on a GPU (the JS layer resolved the device): its index, else -1.
  p->run_device = in.integer_or(Key::runDevice, -1, 1023, -1);
  p->allow_tf32 = in.boolean_or(Key::allowTf32, false);
  if (p->run_device >= 0 && !p->a.device.is_cpu()) throw_status(env, InvalidArgument("runDevice applies to host tensors only"));
  // Weights packed ahead (packWeights): the packed bytes and their layout; b stays the source.
  p->packed_b = in.optional_tensor(Key::packed, keep);
  if (present(p->packed_b)) {
    p->packed_layout = in.string(Key::packedLayout);
    if (!p->packed_b.device.is_cpu()) throw_status(env, InvalidArgument("Expected packed weights in host memory"));
  }
  Status st = gemm_validate(*p, s);
  if (!st.ok()) throw_status(env, st);
}

namespace {

Napi::Value Gemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GemmParams p;
  GemmShape s;
  KeepAlive keep;
  read_gemm(Params(env, info[0], "gemm params"), &p, &s, &keep);
  const bool async = get_bool(env, info[1], "async");
  return run_op(env, "tensorkern:gemm", async, std::move(keep), [p, s] { return gemm_run(p, s); });
}

// gemmPackLayout(dtype, K, N) -> { layout, bytes }: what packing op(B) [K, N] means on the active ISA
// (layout '' when the dtype has no packed path).
Napi::Value GemmPackLayout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int32_t dt = get_int(env, info[0], "dtype", 0, kNumDTypes - 1);
  const double K = get_number(env, info[1], "K"), N = get_number(env, info[2], "N");
  if (!(K >= 0 && N >= 0 && K <= 9007199254740991.0 && N <= 9007199254740991.0 && K == static_cast<int64_t>(K) &&
        N == static_cast<int64_t>(N))) {
    throw_status(env, InvalidArgument("Expected whole, non-negative K and N"));
  }
  const PackedLayout l = gemm_packed_layout(static_cast<DType>(dt), static_cast<int64_t>(K), static_cast<int64_t>(N));
  Napi::Object o = Napi::Object::New(env);
  o.Set("layout", l.id);
  o.Set("bytes", Napi::Number::New(env, static_cast<double>(l.bytes)));
  return o;
}

// gemmPackB({ b, transB, dst, layout }, async): packs op(b) into dst in `layout` (gemmPackLayout's).
Napi::Value GemmPackB(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KeepAlive keep;
  const Params in(env, info[0], "gemmPackB params");
  const TensorView b = in.tensor(Key::b, &keep);
  const bool trans_b = in.boolean(Key::transB);
  const TensorView dst = in.tensor(Key::dst, &keep);
  const std::string layout = in.string(Key::layout);
  const bool async = get_bool(env, info[1], "async");
  return run_op(env, "tensorkern:packWeights", async, std::move(keep),
                [b, trans_b, dst, layout] { return gemm_pack_b(b, trans_b, dst, layout); });
}

}  // namespace

void register_gemm(Napi::Env env, const Exports& e) {
  set_fn<Gemm>(env, e.ops, "gemm");
  set_fn<GemmPackLayout>(env, e.ops, "gemmPackLayout");
  set_fn<GemmPackB>(env, e.ops, "gemmPackB");
}

}  // namespace tk::napi

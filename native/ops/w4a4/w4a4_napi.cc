// ops.w4a4(params, async) -- params as lib/binding.ts W4A4Params (actBits 4 / 8 / 0 = weight-only;
// xScales: x is pre-quantized int8) -- and ops.w4a4QuantizeRows({ x, q, scales, bits, rotateBlock }, async),
// the per-row contract quantizer (activations, weight groups).
#include <string>

#include "../../napi/async_op.h"
#include "../../napi/op_params.h"
#include "../../napi/register.h"
#include "w4a4.h"

namespace tk::napi {

void read_w4a4(const Params& in, W4A4Params* p, W4A4Shape* s, KeepAlive* keep) {
  p->x = in.tensor(Key::x, keep);
  p->w = in.tensor(Key::w, keep);
  p->scales = in.tensor(Key::scales, keep);
  p->zero_points = in.optional_tensor(Key::zeroPoints, keep);
  p->outlier_idx = in.optional_tensor(Key::outlierChannels, keep);
  p->outlier_w = in.optional_tensor(Key::outlierWeights, keep);
  p->outlier_scales = in.optional_tensor(Key::outlierScales, keep);
  read_epilogue(in, p, keep);
  p->group_size = in.integer(Key::groupSize, 0, 1 << 30);
  p->rotate_block = in.integer(Key::rotateBlock, 0, 1 << 30);
  p->act_bits = in.integer(Key::actBits, 0, 8);
  p->x_scales = in.optional_tensor(Key::xScales, keep);
  Status st = w4a4_validate(*p, s);
  if (!st.ok()) throw_status(in.env(), st);
}

namespace {

Napi::Value W4A4(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  W4A4Params p;
  W4A4Shape s;
  KeepAlive keep;
  read_w4a4(Params(env, info[0], "w4a4 params"), &p, &s, &keep);
  const bool async = get_bool(env, info[1], "async");
  return run_op(env, "tensorkern:w4a4", async, std::move(keep), [p] { return w4a4(p); });
}

Napi::Value QuantizeRows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KeepAlive keep;
  const Params in(env, info[0], "w4a4QuantizeRows params");
  const TensorView x = in.tensor(Key::x, &keep);
  const TensorView q = in.tensor(Key::q, &keep);
  const TensorView sc = in.tensor(Key::scales, &keep);
  const int bits = in.integer(Key::bits, 4, 8);
  const int64_t rb = in.integer(Key::rotateBlock, 0, 1 << 30);
  Status st = Status::Ok();
  if (x.ndim != 2 || x.dtype != DType::kFloat32 || !x.device.is_cpu())
    st = InvalidArgument("Expected x as a rank-2 float32 CPU tensor");
  else if (bits != 4 && bits != 8)
    st = InvalidArgument("Expected bits 4 or 8 but received " + std::to_string(bits));
  else if (q.dtype != DType::kInt8 || q.numel != x.numel || !q.device.is_cpu())
    st = InvalidArgument("Expected q as an int8 CPU tensor with the elements of x");
  else if (sc.dtype != DType::kFloat32 || sc.numel != x.shape[0] || !sc.device.is_cpu())
    st = InvalidArgument("Expected scales as a float32 CPU tensor with one element per row of x");
  else if (rb != 0 && ((rb & (rb - 1)) != 0 || rb < 2 || x.shape[1] % rb != 0))
    st = InvalidArgument("Expected a rotation block that is a power of two dividing K");
  if (!st.ok()) throw_status(env, st);
  const bool async = get_bool(env, info[1], "async");
  return run_op(env, "tensorkern:w4a4QuantizeRows", async, std::move(keep),
                [x, q, sc, bits, rb] { return w4a4_quantize_rows(x, bits, rb, q.as<int8_t>(), sc.as<float>()); });
}

}  // namespace

void register_w4a4(Napi::Env env, const Exports& e) {
  set_fn<W4A4>(env, e.ops, "w4a4");
  set_fn<QuantizeRows>(env, e.ops, "w4a4QuantizeRows");
}

}  // namespace tk::napi

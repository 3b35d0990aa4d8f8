// ops.bitmm({ a, b, aFormat, bFormat, K, aScales?, bScales?, out, bias?, c?, alpha?, beta? }, async):
// params as lib/binding.ts declares them, validated once here (bitmm.h).
#include "../../napi/async_op.h"
#include "../../napi/op_params.h"
#include "../../napi/register.h"
#include "bitmm.h"

namespace tk::napi {
namespace {

Napi::Value Bitmm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KeepAlive keep;
  BitmmParams p;
  BitmmShape s;
  const Params in(env, info[0], "bitmm params");
  p.a = in.tensor(Key::a, &keep);
  p.b = in.tensor(Key::b, &keep);
  p.a_format = in.integer(Key::aFormat, 0, 2);
  p.b_format = in.integer(Key::bFormat, 0, 2);
  p.K = in.dim(Key::K);
  p.a_scales = in.optional_tensor(Key::aScales, &keep);
  p.b_scales = in.optional_tensor(Key::bScales, &keep);
  read_epilogue(in, &p, &keep);
  const bool async = get_bool(env, info[1], "async");
  Status st = bitmm_validate(p, &s);
  if (!st.ok()) throw_status(env, st);
  return run_op(env, "tensorkern:bitMatmul", async, std::move(keep), [p, s] {
    if (p.a.device.is_cuda()) return bitmm_cuda(p, s, p.a.device.index);
    return bitmm_cpu(p, s);
  });
}

}  // namespace

void register_bitmm(Napi::Env env, const Exports& e) { set_fn<Bitmm>(env, e.ops, "bitmm"); }

}  // namespace tk::napi

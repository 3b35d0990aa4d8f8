// ops.lutMatmul({ x, planes, scales, N, bits, groupSize, out, bias?, c?, alpha?, beta? }, async) and
// ops.lutQuantize({ w, planes, scales, bits, groupSize }, async): params as lib/binding.ts declares
// them, validated once here (lut.h).
#include "../../napi/async_op.h"
#include "../../napi/op_params.h"
#include "../../napi/params.h"
#include "../../napi/register.h"
#include "lut.h"

namespace tk::napi {
namespace {

Napi::Value LutMatmul(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KeepAlive keep;
  LutParams p;
  LutShape s;
  const Params in(env, info[0], "lutMatmul params");
  p.x = in.tensor(Key::x, &keep);
  p.planes = in.tensor(Key::planes, &keep);
  p.scales = in.tensor(Key::scales, &keep);
  p.N = in.dim(Key::N);
  p.bits = in.integer(Key::bits, 1, 4);
  p.group_size = in.dim(Key::groupSize);
  read_epilogue(in, &p, &keep);
  const bool async = get_bool(env, info[1], "async");
  Status st = lut_validate(p, &s);
  if (!st.ok()) throw_status(env, st);
  return run_op(env, "tensorkern:lutMatmul", async, std::move(keep), [p, s] { return lut_run(p, s); });
}

Napi::Value LutQuantize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KeepAlive keep;
  LutQuantizeParams p;
  LutLayout L;
  const Params in(env, info[0], "lutQuantize params");
  p.w = in.tensor(Key::w, &keep);
  p.planes = in.tensor(Key::planes, &keep);
  p.scales = in.tensor(Key::scales, &keep);
  p.bits = in.integer(Key::bits, 1, 4);
  p.group_size = in.dim(Key::groupSize);
  const bool async = get_bool(env, info[1], "async");
  Status st = lut_quantize_validate(p, &L);
  if (!st.ok()) throw_status(env, st);
  return run_op(env, "tensorkern:quantizeWeights", async, std::move(keep), [p, L] { return lut_quantize(p, L); });
}

}  // namespace

void register_lut(Napi::Env env, const Exports& e) {
  set_fn<LutMatmul>(env, e.ops, "lutMatmul");
  set_fn<LutQuantize>(env, e.ops, "lutQuantize");
}

}  // namespace tk::napi

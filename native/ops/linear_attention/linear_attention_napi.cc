// ops.linearAttention(params, async) -- params as lib/binding.ts NativeLinearAttentionParams: q, k, v,
// decay? (float32 [H] host tensor), state? / stateOut? (float32 [B, H, D, Dv]), out, causal, bshd, scale.
#include <cmath>

#include "../../napi/async_op.h"
#include "../../napi/params.h"
#include "../../napi/register.h"
#include "linear_attention.h"

namespace tk::napi {
namespace {

Napi::Value LinearAttention(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Params in(env, info[0], "linearAttention params");
  LinearAttentionParams p;
  KeepAlive keep;
  p.q = in.tensor(Key::q, &keep);
  p.k = in.tensor(Key::k, &keep);
  p.v = in.tensor(Key::v, &keep);
  p.decay = in.optional_tensor(Key::decay, &keep);
  p.state_in = in.optional_tensor(Key::state, &keep);
  p.state_out = in.optional_tensor(Key::stateOut, &keep);
  p.out = in.tensor(Key::out, &keep);
  p.causal = in.boolean_or(Key::causal, true);
  p.bshd = in.boolean_or(Key::bshd, false);
  p.scale = in.has(Key::scale) ? static_cast<float>(in.number(Key::scale)) : 1.0f;
  if (!std::isfinite(p.scale)) throw_status(env, InvalidArgument("Expected a finite scale"));
  LinearAttentionShape s;
  Status st = linear_attention_validate(p, &s);
  if (!st.ok()) throw_status(env, st);
  const bool async = get_bool(env, info[1], "async");
  // linear_attention() validates again when the work runs: the decay values are read from the caller's
  // host tensor then, and must still be in (0, 1].
  return run_op(env, "tensorkern:linearAttention", async, std::move(keep), [p] { return linear_attention(p); });
}

}  // namespace

void register_linear_attention(Napi::Env env, const Exports& e) { set_fn<LinearAttention>(env, e.ops, "linearAttention"); }

}  // namespace tk::napi

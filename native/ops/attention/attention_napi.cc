// ops.attention(params, async) -- params as lib/binding.ts AttentionParams: q, k, v, mask?, kvLengths?,
// out, lse?, causal, bshd, scale, softcap, causalOffset? (an integer; absent / null: the bottom-right
// default), qkOut? (a float32 CPU tensor for the score matrix at stage qkStage 0..3, attention.h QkStage).
#include <cmath>

#include "../../napi/async_op.h"
#include "../../napi/op_params.h"
#include "../../napi/register.h"
#include "attention.h"

namespace tk::napi {

void read_attention(const Params& in, AttentionParams* p, AttentionShape* s, KeepAlive* keep) {
  Napi::Env env = in.env();
  p->q = in.tensor(Key::q, keep);
  p->k = in.tensor(Key::k, keep);
  p->v = in.tensor(Key::v, keep);
  p->mask = in.optional_tensor(Key::mask, keep);
  p->kv_lengths = in.optional_tensor(Key::kvLengths, keep);
  p->out = in.tensor(Key::out, keep);
  p->lse = in.optional_tensor(Key::lse, keep);
  p->causal = in.boolean(Key::causal);
  p->bshd = in.boolean_or(Key::bshd, false);
  p->scale = static_cast<float>(in.number(Key::scale));
  p->softcap = in.has(Key::softcap) ? static_cast<float>(in.number(Key::softcap)) : 0.0f;
  if (!std::isfinite(p->scale)) throw_status(env, InvalidArgument("Expected a finite scale"));
  if (!(p->softcap >= 0.0f) || !std::isfinite(p->softcap)) throw_status(env, InvalidArgument("Expected a finite softcap >= 0"));
  if (in.has(Key::causalOffset)) {
    const double off = in.number(Key::causalOffset);
    if (!(std::floor(off) == off) || std::fabs(off) > 9007199254740991.0)
      throw_status(env, InvalidArgument("Expected an integer causalOffset"));
    p->has_causal_offset = true;
    p->causal_offset = static_cast<int64_t>(off);
  }
  p->qk_out = in.optional_tensor(Key::qkOut, keep);
  p->qk_stage = present(p->qk_out) ? in.integer(Key::qkStage, kQkScores, kQkSoftmax) : kQkNone;
  Status st = attention_validate(*p, s);
  if (!st.ok()) throw_status(env, st);
}

namespace {

Napi::Value Attention(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AttentionParams p;
  AttentionShape s;
  KeepAlive keep;
  read_attention(Params(env, info[0], "attention params"), &p, &s, &keep);
  const bool async = get_bool(env, info[1], "async");
  // attention() validates again when the work runs: host kvLengths may be the caller's own tensor
  // (no copy), whose values can change after this call returns, and the kernels index keys with them.
  return run_op(env, "tensorkern:attention", async, std::move(keep), [p] { return attention(p); });
}

}  // namespace

void register_attention(Napi::Env env, const Exports& e) { set_fn<Attention>(env, e.ops, "attention"); }

}  // namespace tk::napi

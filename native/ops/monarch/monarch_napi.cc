// ops.monarch({ x, w1, w2, out }, async) and ops.monarchProject({ w, blocks, w1, w2, err }, async):
// params as lib/binding.ts declares them, validated once here (monarch.h).
#include "../../napi/async_op.h"
#include "../../napi/params.h"
#include "../../napi/register.h"
#include "monarch.h"

namespace tk::napi {
namespace {

Napi::Value Monarch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KeepAlive keep;
  MonarchParams p;
  MonarchShape s;
  const Params in(env, info[0], "monarch params");
  p.x = in.tensor(Key::x, &keep);
  p.w1 = in.tensor(Key::w1, &keep);
  p.w2 = in.tensor(Key::w2, &keep);
  p.out = in.tensor(Key::out, &keep);
  const bool async = get_bool(env, info[1], "async");
  Status st = monarch_validate(p, &s);
  if (!st.ok()) throw_status(env, st);
  return run_op(env, "tensorkern:monarch", async, std::move(keep), [p, s] { return monarch_run(p, s); });
}

Napi::Value MonarchProject(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KeepAlive keep;
  MonarchProjectParams p;
  const Params in(env, info[0], "monarchProject params");
  p.w = in.tensor(Key::w, &keep);
  p.blocks = in.dim(Key::blocks);
  p.w1 = in.tensor(Key::w1, &keep);
  p.w2 = in.tensor(Key::w2, &keep);
  p.err = in.tensor(Key::err, &keep);
  const bool async = get_bool(env, info[1], "async");
  Status st = monarch_project_validate(p);
  if (!st.ok()) throw_status(env, st);
  return run_op(env, "tensorkern:projectMonarch", async, std::move(keep), [p] { return monarch_project_cpu(p); });
}

}  // namespace

void register_monarch(Napi::Env env, const Exports& e) {
  set_fn<Monarch>(env, e.ops, "monarch");
  set_fn<MonarchProject>(env, e.ops, "monarchProject");
}

}  // namespace tk::napi

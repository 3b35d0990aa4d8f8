// ops.cast({ src, dst }, async): dst <- src converted (see cast.h).
#include "../../napi/async_op.h"
#include "../../napi/params.h"
#include "../../napi/register.h"
#include "cast.h"

namespace tk::napi {
namespace {

Napi::Value Cast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KeepAlive keep;
  CastParams p;
  const Params in(env, info[0], "cast params");
  p.src = in.tensor(Key::src, &keep);
  p.dst = in.tensor(Key::dst, &keep);
  const bool async = get_bool(env, info[1], "async");
  Status s = validate(p);
  if (!s.ok()) throw_status(env, s);
  return run_op(env, "tensorkern:cast", async, std::move(keep), [p] { return cast(p); });
}

}  // namespace

void register_cast(Napi::Env env, const Exports& e) { set_fn<Cast>(env, e.ops, "cast"); }

}  // namespace tk::napi

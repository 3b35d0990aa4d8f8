// binding.cast(src, dst, async): dst <- src converted (see cast.h).
#include "../../napi/async_op.h"
#include "../../napi/register.h"
#include "cast.h"

namespace tk::napi {
namespace {

Napi::Value Cast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KeepAlive keep;
  CastParams p;
  p.src = unwrap_tensor(env, info[0], "src", &keep);
  p.dst = unwrap_tensor(env, info[1], "dst", &keep);
  bool async = get_bool(env, info[2], "async");
  Status s = validate(p);
  if (!s.ok()) throw_status(env, s);
  return run_op(env, "tensorkern:cast", async, std::move(keep), [p] { return cast(p); });
}

}  // namespace

void register_cast(Napi::Env env, Napi::Object exports) { exports.Set("cast", Napi::Function::New<guard<Cast>>(env, "cast")); }

}  // namespace tk::napi

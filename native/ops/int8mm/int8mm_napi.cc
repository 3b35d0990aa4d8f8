// ops.int8mm({ x, w, scales, packed?, packedLayout?, threshold, out, bias?, c?, alpha?, beta? }, async):
// params as lib/binding.ts NativeInt8MmParams declares them, validated once here (int8mm.h).
#include <cmath>

#include "../../napi/async_op.h"
#include "../../napi/op_params.h"
#include "../../napi/register.h"
#include "int8mm.h"

namespace tk::napi {
namespace {

Napi::Value Int8Mm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KeepAlive keep;
  Int8MmParams p;
  Int8MmShape s;
  const Params in(env, info[0], "int8mm params");
  p.x = in.tensor(Key::x, &keep);
  p.w = in.tensor(Key::w, &keep);
  p.scales = in.tensor(Key::scales, &keep);
  p.packed = in.optional_tensor(Key::packed, &keep);
  if (present(p.packed)) p.packed_layout = in.string(Key::packedLayout);
  p.threshold = static_cast<float>(in.number(Key::threshold));
  read_epilogue(in, &p, &keep);
  const bool async = get_bool(env, info[1], "async");
  Status st = int8mm_validate(p, &s);
  if (!st.ok()) throw_status(env, st);
  return run_op(env, "tensorkern:int8mm", async, std::move(keep), [p, s] { return int8mm(p, s); });
}

}  // namespace

void register_int8mm(Napi::Env env, const Exports& e) { set_fn<Int8Mm>(env, e.ops, "int8mm"); }

}  // namespace tk::napi

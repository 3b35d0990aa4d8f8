// binding.rmsNorm(x, weight, out, eps, async), rope(x, positions, start, theta, half, out, async),
// silu(x, out, async), swiglu(gate, up, out, async), add(a, b, out, async), softmax(x, out, async),
// embedding(table, ids, out, async), argmax(x, out, async), topk(x, k, values, indices, async),
// kvAppend(cache, x, position, start, seqDim, async): see block.h. positions / ids / position are
// int32 host tensors the closure reads at run time (positions and position may be undefined: then
// `start` is used).
#include <climits>

#include "../../core/tensor_check.h"
#include "../../napi/async_op.h"
#include "../../napi/register.h"
#include "block.h"

namespace tk::napi {
namespace {

Napi::Value run(Napi::Env env, BlockParams p, KeepAlive keep, Napi::Value async_v) {
  const bool async = get_bool(env, async_v, "async");
  Status s = block_validate(p);
  if (!s.ok()) throw_status(env, s);
  return run_op(env, "tensorkern:block", async, std::move(keep), [p] { return block(p); });
}

Napi::Value RmsNorm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KeepAlive keep;
  BlockParams p;
  p.op = BlockOp::kRmsNorm;
  p.a = unwrap_tensor(env, info[0], "x", &keep);
  p.b = unwrap_tensor(env, info[1], "weight", &keep);
  p.out = unwrap_tensor(env, info[2], "out", &keep);
  const double eps = get_number(env, info[3], "eps");
  if (!(eps >= 0.0) || eps > 3.4e38) throw_status(env, OutOfRange("Expected a finite eps >= 0 but received " + describe_number(eps)));
  p.eps = static_cast<float>(eps);
  return run(env, p, std::move(keep), info[4]);
}

Napi::Value Rope(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KeepAlive keep;
  BlockParams p;
  p.op = BlockOp::kRope;
  p.a = unwrap_tensor(env, info[0], "x", &keep);
  p.idx = unwrap_optional_tensor(env, info[1], "positions", &keep);
  p.start = get_int(env, info[2], "positions", 0, INT32_MAX);
  const double theta = get_number(env, info[3], "theta");
  if (!(theta > 0.0) || theta > 3.4e38) throw_status(env, OutOfRange("Expected a finite theta > 0 but received " + describe_number(theta)));
  p.theta = static_cast<float>(theta);
  p.rope_half = get_bool(env, info[4], "half");
  p.out = unwrap_tensor(env, info[5], "out", &keep);
  return run(env, p, std::move(keep), info[6]);
}

template <BlockOp Op>
Napi::Value Unary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KeepAlive keep;
  BlockParams p;
  p.op = Op;
  p.a = unwrap_tensor(env, info[0], "x", &keep);
  p.out = unwrap_tensor(env, info[1], "out", &keep);
  return run(env, p, std::move(keep), info[2]);
}

template <BlockOp Op>
Napi::Value Binary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KeepAlive keep;
  BlockParams p;
  p.op = Op;
  const bool swiglu = Op == BlockOp::kSwiglu;
  p.a = unwrap_tensor(env, info[0], swiglu ? "gate" : "a", &keep);
  p.b = unwrap_tensor(env, info[1], swiglu ? "up" : "b", &keep);
  p.out = unwrap_tensor(env, info[2], "out", &keep);
  return run(env, p, std::move(keep), info[3]);
}

Napi::Value Embedding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KeepAlive keep;
  BlockParams p;
  p.op = BlockOp::kEmbedding;
  p.a = unwrap_tensor(env, info[0], "table", &keep);
  p.idx = unwrap_tensor(env, info[1], "ids", &keep);
  p.out = unwrap_tensor(env, info[2], "out", &keep);
  return run(env, p, std::move(keep), info[3]);
}

Napi::Value Topk(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KeepAlive keep;
  BlockParams p;
  p.op = BlockOp::kTopk;
  p.a = unwrap_tensor(env, info[0], "x", &keep);
  p.k = get_int(env, info[1], "k", 1, INT32_MAX);
  p.out = unwrap_tensor(env, info[2], "values", &keep);
  p.out2 = unwrap_tensor(env, info[3], "indices", &keep);
  return run(env, p, std::move(keep), info[4]);
}

Napi::Value KvAppend(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KeepAlive keep;
  BlockParams p;
  p.op = BlockOp::kKvAppend;
  p.out = unwrap_tensor(env, info[0], "cache", &keep);
  p.a = unwrap_tensor(env, info[1], "x", &keep);
  p.idx = unwrap_optional_tensor(env, info[2], "position", &keep);
  p.start = get_int(env, info[3], "position", 0, INT32_MAX);
  p.seq_dim = get_int(env, info[4], "seqDim", 0, 1);
  return run(env, p, std::move(keep), info[5]);
}

}  // namespace

void register_block(Napi::Env env, Napi::Object exports) {
  exports.Set("rmsNorm", Napi::Function::New<guard<RmsNorm>>(env, "rmsNorm"));
  exports.Set("rope", Napi::Function::New<guard<Rope>>(env, "rope"));
  exports.Set("silu", Napi::Function::New<guard<Unary<BlockOp::kSilu>>>(env, "silu"));
  exports.Set("softmax", Napi::Function::New<guard<Unary<BlockOp::kSoftmax>>>(env, "softmax"));
  exports.Set("argmax", Napi::Function::New<guard<Unary<BlockOp::kArgmax>>>(env, "argmax"));
  exports.Set("swiglu", Napi::Function::New<guard<Binary<BlockOp::kSwiglu>>>(env, "swiglu"));
  exports.Set("add", Napi::Function::New<guard<Binary<BlockOp::kAdd>>>(env, "add"));
  exports.Set("embedding", Napi::Function::New<guard<Embedding>>(env, "embedding"));
  exports.Set("topk", Napi::Function::New<guard<Topk>>(env, "topk"));
  exports.Set("kvAppend", Napi::Function::New<guard<KvAppend>>(env, "kvAppend"));
}

}  // namespace tk::napi

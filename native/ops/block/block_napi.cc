// The transformer block ops, each ops.<name>(params, async) (block.h; lib/binding.ts declares the params):
//   rmsNorm { x, weight, out, eps }            rope { x, positions?, start, theta, half, out }
//   silu / softmax / argmax { x, out }         swiglu { gate, up, out }      add { a, b, out }
//   embedding { table, ids, out }              topk { x, k, values, indices }
//   kvAppend { cache, x, position?, start, seqDim }
// positions / ids / position are int32 host tensors the closure reads at run time (positions and position
// may be absent: then `start` is used).
#include <climits>

#include "../../core/tensor_check.h"
#include "../../napi/async_op.h"
#include "../../napi/params.h"
#include "../../napi/register.h"
#include "block.h"

namespace tk::napi {
namespace {

// Reads the op's own params into p (after p.op is set), validates and runs or records it.
template <BlockOp Op, void (*Read)(const Params&, BlockParams*, KeepAlive*)>
Napi::Value Block(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KeepAlive keep;
  BlockParams p;
  p.op = Op;
  Read(Params(env, info[0], "block op params"), &p, &keep);
  const bool async = get_bool(env, info[1], "async");
  Status s = block_validate(p);
  if (!s.ok()) throw_status(env, s);
  return run_op(env, "tensorkern:block", async, std::move(keep), [p] { return block(p); });
}

void read_rms_norm(const Params& in, BlockParams* p, KeepAlive* keep) {
  p->a = in.tensor(Key::x, keep);
  p->b = in.tensor(Key::weight, keep);
  p->out = in.tensor(Key::out, keep);
  const double eps = in.number(Key::eps);
  if (!(eps >= 0.0) || eps > 3.4e38) throw_status(in.env(), OutOfRange("Expected a finite eps >= 0 but received " + describe_number(eps)));
  p->eps = static_cast<float>(eps);
}

void read_rope(const Params& in, BlockParams* p, KeepAlive* keep) {
  p->a = in.tensor(Key::x, keep);
  p->idx = in.optional_tensor(Key::positions, keep);
  p->start = in.integer(Key::start, 0, INT32_MAX);
  const double theta = in.number(Key::theta);
  if (!(theta > 0.0) || theta > 3.4e38)
    throw_status(in.env(), OutOfRange("Expected a finite theta > 0 but received " + describe_number(theta)));
  p->theta = static_cast<float>(theta);
  p->rope_half = in.boolean(Key::half);
  p->out = in.tensor(Key::out, keep);
}

void read_unary(const Params& in, BlockParams* p, KeepAlive* keep) {
  p->a = in.tensor(Key::x, keep);
  p->out = in.tensor(Key::out, keep);
}

void read_swiglu(const Params& in, BlockParams* p, KeepAlive* keep) {
  p->a = in.tensor(Key::gate, keep);
  p->b = in.tensor(Key::up, keep);
  p->out = in.tensor(Key::out, keep);
}

void read_add(const Params& in, BlockParams* p, KeepAlive* keep) {
  p->a = in.tensor(Key::a, keep);
  p->b = in.tensor(Key::b, keep);
  p->out = in.tensor(Key::out, keep);
}

void read_embedding(const Params& in, BlockParams* p, KeepAlive* keep) {
  p->a = in.tensor(Key::table, keep);
  p->idx = in.tensor(Key::ids, keep);
  p->out = in.tensor(Key::out, keep);
}

void read_topk(const Params& in, BlockParams* p, KeepAlive* keep) {
  p->a = in.tensor(Key::x, keep);
  p->k = in.integer(Key::k, 1, INT32_MAX);
  p->out = in.tensor(Key::values, keep);
  p->out2 = in.tensor(Key::indices, keep);
}

void read_kv_append(const Params& in, BlockParams* p, KeepAlive* keep) {
  p->out = in.tensor(Key::cache, keep);
  p->a = in.tensor(Key::x, keep);
  p->idx = in.optional_tensor(Key::position, keep);
  p->start = in.integer(Key::start, 0, INT32_MAX);
  p->seq_dim = in.integer(Key::seqDim, 0, 1);
}

}  // namespace

void register_block(Napi::Env env, const Exports& e) {
  set_fn<Block<BlockOp::kRmsNorm, read_rms_norm>>(env, e.ops, "rmsNorm");
  set_fn<Block<BlockOp::kRope, read_rope>>(env, e.ops, "rope");
  set_fn<Block<BlockOp::kSilu, read_unary>>(env, e.ops, "silu");
  set_fn<Block<BlockOp::kSoftmax, read_unary>>(env, e.ops, "softmax");
  set_fn<Block<BlockOp::kArgmax, read_unary>>(env, e.ops, "argmax");
  set_fn<Block<BlockOp::kSwiglu, read_swiglu>>(env, e.ops, "swiglu");
  set_fn<Block<BlockOp::kAdd, read_add>>(env, e.ops, "add");
  set_fn<Block<BlockOp::kEmbedding, read_embedding>>(env, e.ops, "embedding");
  set_fn<Block<BlockOp::kTopk, read_topk>>(env, e.ops, "topk");
  set_fn<Block<BlockOp::kKvAppend, read_kv_append>>(env, e.ops, "kvAppend");
}

}  // namespace tk::napi

// ops.spmm(params, async) -- params as lib/binding.ts SpmmParams: the CSR matrix (rowPtr, colIdx, values,
// rows, cols), b, c?, out, alpha, beta, and for a CUDA run runDevice (the device host tensors run on;
// -1: where b is), kernel (0 auto, 1 csr, 2 blocked, 3 tiles) and devForm (the matrix's device copies:
// { rowPtr, colIdx, values[, perm, panelPtr, blockCol, blockValues] }).
#include "../../napi/async_op.h"
#include "../../napi/op_params.h"
#include "../../napi/register.h"
#include "spmm.h"

namespace tk::napi {

void read_spmm(const Params& in, SpmmParams* p, KeepAlive* keep) {
  p->row_ptr = in.tensor(Key::rowPtr, keep);
  p->col_idx = in.tensor(Key::colIdx, keep);
  p->values = in.tensor(Key::values, keep);
  p->rows = in.dim(Key::rows);
  p->cols = in.dim(Key::cols);
  p->b = in.tensor(Key::b, keep);
  p->c = in.optional_tensor(Key::c, keep);
  p->out = in.tensor(Key::out, keep);
  p->alpha = static_cast<float>(in.number(Key::alpha));
  p->beta = static_cast<float>(in.number(Key::beta));
  p->run_device = in.integer_or(Key::runDevice, -1, 1023, -1);
  p->kernel = in.integer_or(Key::kernel, 0, 3, 0);
  if (in.has(Key::devForm)) {
    const Params f = in.object(Key::devForm);
    p->dev.row_ptr = f.optional_tensor(Key::rowPtr, keep);
    p->dev.col_idx = f.optional_tensor(Key::colIdx, keep);
    p->dev.values = f.optional_tensor(Key::values, keep);
    p->dev.perm = f.optional_tensor(Key::perm, keep);
    p->dev.panel_ptr = f.optional_tensor(Key::panelPtr, keep);
    p->dev.block_col = f.optional_tensor(Key::blockCol, keep);
    p->dev.block_values = f.optional_tensor(Key::blockValues, keep);
  }
  Status s = spmm_validate(*p);
  if (!s.ok()) throw_status(in.env(), s);
}

namespace {

Napi::Value Spmm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SpmmParams p;
  KeepAlive keep;
  read_spmm(Params(env, info[0], "spmm params"), &p, &keep);
  const bool async = get_bool(env, info[1], "async");
  return run_op(env, "tensorkern:spmm", async, std::move(keep), [p] { return spmm(p); });
}

}  // namespace

void register_spmm(Napi::Env env, const Exports& e) { set_fn<Spmm>(env, e.ops, "spmm"); }

}  // namespace tk::napi

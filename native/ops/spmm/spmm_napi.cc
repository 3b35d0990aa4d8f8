// binding.spmm(rowPtr, colIdx, values, rows, cols, b, c, out, alpha, beta, async),
// binding.spmmPlain(...same but async) -- the bench's hand-written-loop baseline -- and
// binding.spmmKernel(n): the kernel name the bench reports.
#include "../../napi/async_op.h"
#include "../../napi/register.h"
#include "spmm.h"

namespace tk::napi {
namespace {

int64_t get_dim(Napi::Env env, Napi::Value v, const char* name) {
  const double d = get_number(env, v, name);
  if (!(d >= 0 && d <= 9007199254740991.0) || d != static_cast<double>(static_cast<int64_t>(d))) {
    throw_status(env, InvalidArgument(std::string("Expected a non-negative integer for ") + name + " but received " + std::to_string(d)));
  }
  return static_cast<int64_t>(d);
}

void unwrap(const Napi::CallbackInfo& info, SpmmParams* p, KeepAlive* keep) {
  Napi::Env env = info.Env();
  p->row_ptr = unwrap_tensor(env, info[0], "rowPtr", keep);
  p->col_idx = unwrap_tensor(env, info[1], "colIdx", keep);
  p->values = unwrap_tensor(env, info[2], "values", keep);
  p->rows = get_dim(env, info[3], "rows");
  p->cols = get_dim(env, info[4], "cols");
  p->b = unwrap_tensor(env, info[5], "b", keep);
  p->c = unwrap_optional_tensor(env, info[6], "c", keep);
  p->out = unwrap_tensor(env, info[7], "out", keep);
  p->alpha = static_cast<float>(get_number(env, info[8], "alpha"));
  p->beta = static_cast<float>(get_number(env, info[9], "beta"));
  Status s = spmm_validate(*p);
  if (!s.ok()) throw_status(env, s);
}

Napi::Value Spmm(const Napi::CallbackInfo& info) {
  SpmmParams p;
  KeepAlive keep;
  unwrap(info, &p, &keep);
  const bool async = get_bool(info.Env(), info[10], "async");
  return run_op(info.Env(), "tensorkern:spmm", async, std::move(keep), [p] { return spmm(p); });
}

Napi::Value SpmmPlain(const Napi::CallbackInfo& info) {
  SpmmParams p;
  KeepAlive keep;
  unwrap(info, &p, &keep);
  return run_op(info.Env(), "tensorkern:spmmPlain", false, std::move(keep), [p] { return spmm_plain(p); });
}

Napi::Value SpmmKernel(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), spmm_cpu_kernel_name(static_cast<int64_t>(get_number(info.Env(), info[0], "n"))));
}

}  // namespace

void register_spmm(Napi::Env env, Napi::Object exports) {
  exports.Set("spmm", Napi::Function::New<guard<Spmm>>(env, "spmm"));
  exports.Set("spmmPlain", Napi::Function::New<guard<SpmmPlain>>(env, "spmmPlain"));
  exports.Set("spmmKernel", Napi::Function::New<guard<SpmmKernel>>(env, "spmmKernel"));
}

}  // namespace tk::napi

// binding.spmm(rowPtr, colIdx, values, rows, cols, b, c, out, alpha, beta, async[, runDevice, kernel, devForm]),
// where devForm = { rowPtr, colIdx, values[, perm, panelPtr, blockCol, blockValues] } holds the matrix's
// device copies (required for a CUDA run), runDevice the CUDA device host tensors run on (-1: where b
// is) and kernel the CUDA kernel (0 auto, 1 csr, 2 blocked, 3 tiles);
// binding.spmmCudaLastKernel(), binding.spmmCudaTime(...spmm's first 10 arguments, kernel, devForm,
// warmup, runs) -> seconds per run (the bench),
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
  if (info.Length() > 11 && !info[11].IsUndefined()) p->run_device = get_int(env, info[11], "runDevice", -1, 1023);
  if (info.Length() > 12 && !info[12].IsUndefined()) p->kernel = get_int(env, info[12], "kernel", 0, 3);
  if (info.Length() > 13 && !info[13].IsUndefined() && !info[13].IsNull()) {
    if (!info[13].IsObject()) throw_status(env, TypeMismatch("Expected devForm to be an object"));
    Napi::Object f = info[13].As<Napi::Object>();
    p->dev.row_ptr = unwrap_optional_tensor(env, f.Get("rowPtr"), "devForm.rowPtr", keep);
    p->dev.col_idx = unwrap_optional_tensor(env, f.Get("colIdx"), "devForm.colIdx", keep);
    p->dev.values = unwrap_optional_tensor(env, f.Get("values"), "devForm.values", keep);
    p->dev.perm = unwrap_optional_tensor(env, f.Get("perm"), "devForm.perm", keep);
    p->dev.panel_ptr = unwrap_optional_tensor(env, f.Get("panelPtr"), "devForm.panelPtr", keep);
    p->dev.block_col = unwrap_optional_tensor(env, f.Get("blockCol"), "devForm.blockCol", keep);
    p->dev.block_values = unwrap_optional_tensor(env, f.Get("blockValues"), "devForm.blockValues", keep);
  }
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

Napi::Value SpmmCudaLastKernel(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), spmm_cuda_last_kernel()); }

// spmmCudaTime(rowPtr, colIdx, values, rows, cols, b, c, out, alpha, beta, kernel, devForm, warmup, runs)
// on device tensors: seconds per run (synchronous: the bench's measurement).
Napi::Value SpmmCudaTime(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int warmup = get_int(env, info[12], "warmup", 0, 100000), runs = get_int(env, info[13], "runs", 1, 100000);
  SpmmParams p;
  KeepAlive keep;
  p.row_ptr = unwrap_tensor(env, info[0], "rowPtr", &keep);
  p.col_idx = unwrap_tensor(env, info[1], "colIdx", &keep);
  p.values = unwrap_tensor(env, info[2], "values", &keep);
  p.rows = get_dim(env, info[3], "rows");
  p.cols = get_dim(env, info[4], "cols");
  p.b = unwrap_tensor(env, info[5], "b", &keep);
  p.c = unwrap_optional_tensor(env, info[6], "c", &keep);
  p.out = unwrap_tensor(env, info[7], "out", &keep);
  p.alpha = static_cast<float>(get_number(env, info[8], "alpha"));
  p.beta = static_cast<float>(get_number(env, info[9], "beta"));
  p.kernel = get_int(env, info[10], "kernel", 0, 3);
  if (!info[11].IsObject()) throw_status(env, TypeMismatch("Expected devForm to be an object"));
  Napi::Object f = info[11].As<Napi::Object>();
  p.dev.row_ptr = unwrap_optional_tensor(env, f.Get("rowPtr"), "devForm.rowPtr", &keep);
  p.dev.col_idx = unwrap_optional_tensor(env, f.Get("colIdx"), "devForm.colIdx", &keep);
  p.dev.values = unwrap_optional_tensor(env, f.Get("values"), "devForm.values", &keep);
  p.dev.perm = unwrap_optional_tensor(env, f.Get("perm"), "devForm.perm", &keep);
  p.dev.panel_ptr = unwrap_optional_tensor(env, f.Get("panelPtr"), "devForm.panelPtr", &keep);
  p.dev.block_col = unwrap_optional_tensor(env, f.Get("blockCol"), "devForm.blockCol", &keep);
  p.dev.block_values = unwrap_optional_tensor(env, f.Get("blockValues"), "devForm.blockValues", &keep);
  Status s = spmm_validate(p);
  std::vector<double> secs;
  if (s.ok()) s = spmm_cuda_time(p, warmup, runs, &secs);
  if (!s.ok()) throw_status(env, s);
  Napi::Array out = Napi::Array::New(env, secs.size());
  for (size_t i = 0; i < secs.size(); ++i) out.Set(uint32_t(i), Napi::Number::New(env, secs[i]));
  return out;
}

Napi::Value SpmmKernel(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), spmm_cpu_kernel_name(static_cast<int64_t>(get_number(info.Env(), info[0], "n"))));
}

}  // namespace

void register_spmm(Napi::Env env, Napi::Object exports) {
  exports.Set("spmm", Napi::Function::New<guard<Spmm>>(env, "spmm"));
  exports.Set("spmmPlain", Napi::Function::New<guard<SpmmPlain>>(env, "spmmPlain"));
  exports.Set("spmmCudaLastKernel", Napi::Function::New<guard<SpmmCudaLastKernel>>(env, "spmmCudaLastKernel"));
  exports.Set("spmmCudaTime", Napi::Function::New<guard<SpmmCudaTime>>(env, "spmmCudaTime"));
  exports.Set("spmmKernel", Napi::Function::New<guard<SpmmKernel>>(env, "spmmKernel"));
}

}  // namespace tk::napi

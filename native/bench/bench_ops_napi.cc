// The bench group's baselines that take an op's params (read by the op's own reader, op_params.h):
//   bench.gemmPlain(gemmParams)            the plain-loop GEMM (sync, CPU)
//   bench.spmmPlain(spmmParams)            the hand-written-loop SpMM (sync, CPU)
//   bench.spmmCudaTime(spmmParams, warmup, runs) -> seconds per run (CUDA events; device tensors)
//   bench.attentionPlain(attentionParams)  the unfused GEMM -> softmax -> GEMM (sync, CPU, 'bhsd')
//   bench.gpuAttentionTime(which, attentionParams, warmup, runs) -> seconds per run ('tensorkern' | 'cublas')
//   bench.w4a4Plain(w4a4Params)            the plain-loop W4A4 (sync, CPU)
#include <string>
#include <vector>

#include "../napi/async_op.h"
#include "../napi/op_params.h"
#include "../napi/register.h"
#include "gpu_attention_bench.h"

namespace tk::napi {
namespace {

Napi::Array seconds_array(Napi::Env env, const std::vector<double>& secs) {
  Napi::Array a = Napi::Array::New(env, secs.size());
  for (size_t i = 0; i < secs.size(); ++i) a.Set(uint32_t(i), Napi::Number::New(env, secs[i]));
  return a;
}

void require_cpu(Napi::Env env, const TensorView& t, const char* what) {
  if (!t.device.is_cpu()) throw_status(env, Unsupported(std::string(what) + " runs on the CPU"));
}

Napi::Value GemmPlain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GemmParams p;
  GemmShape s;
  KeepAlive keep;
  read_gemm(Params(env, info[0], "gemm params"), &p, &s, &keep);
  require_cpu(env, p.a, "gemmPlain");
  return run_op(env, "tensorkern:gemmPlain", false, std::move(keep), [p, s] { return gemm_plain(p, s); });
}

Napi::Value SpmmPlain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SpmmParams p;
  KeepAlive keep;
  read_spmm(Params(env, info[0], "spmm params"), &p, &keep);
  return run_op(env, "tensorkern:spmmPlain", false, std::move(keep), [p] { return spmm_plain(p); });
}

Napi::Value SpmmCudaTime(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SpmmParams p;
  KeepAlive keep;
  read_spmm(Params(env, info[0], "spmm params"), &p, &keep);
  const int warmup = get_int(env, info[1], "warmup", 0, 100000), runs = get_int(env, info[2], "runs", 1, 100000);
  std::vector<double> secs;
  Status s = spmm_cuda_time(p, warmup, runs, &secs);
  if (!s.ok()) throw_status(env, s);
  return seconds_array(env, secs);
}

Napi::Value AttentionPlain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AttentionParams p;
  AttentionShape s;
  KeepAlive keep;
  read_attention(Params(env, info[0], "attention params"), &p, &s, &keep);
  require_cpu(env, p.q, "attentionPlain");
  return run_op(env, "tensorkern:attentionPlain", false, std::move(keep), [p, s] { return attention_plain(p, s); });
}

Napi::Value GpuAttentionTime(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw_status(env, TypeMismatch("Expected 'tensorkern' or 'cublas'"));
  const std::string which = info[0].As<Napi::String>().Utf8Value();
  AttentionParams p;
  AttentionShape s;
  KeepAlive keep;
  read_attention(Params(env, info[1], "attention params"), &p, &s, &keep);
  const int warmup = get_int(env, info[2], "warmup", 0, 1000), runs = get_int(env, info[3], "runs", 1, 100000);
  std::vector<double> secs;
  Status st = bench::gpu_time_attention(which, p, warmup, runs, &secs);
  if (!st.ok()) throw_status(env, st);
  return seconds_array(env, secs);
}

Napi::Value W4A4Plain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  W4A4Params p;
  W4A4Shape s;
  KeepAlive keep;
  read_w4a4(Params(env, info[0], "w4a4 params"), &p, &s, &keep);
  require_cpu(env, p.x, "w4a4Plain");
  return run_op(env, "tensorkern:w4a4Plain", false, std::move(keep), [p, s] { return w4a4_plain(p, s); });
}

}  // namespace

void register_bench_ops(Napi::Env env, const Exports& e) {
  set_fn<GemmPlain>(env, e.bench, "gemmPlain");
  set_fn<SpmmPlain>(env, e.bench, "spmmPlain");
  set_fn<SpmmCudaTime>(env, e.bench, "spmmCudaTime");
  set_fn<AttentionPlain>(env, e.bench, "attentionPlain");
  set_fn<GpuAttentionTime>(env, e.bench, "gpuAttentionTime");
  set_fn<W4A4Plain>(env, e.bench, "w4a4Plain");
}

}  // namespace tk::napi

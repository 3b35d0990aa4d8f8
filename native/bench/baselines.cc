// Third-party baselines for `tensorkern bench`, loaded at run time with dlopen so that nothing links
// against them: oneDNN (libdnnl) and OpenBLAS on the CPU; the same mechanism will load cuBLAS and
// cuSPARSE for GPU benches. A missing library is reported, not an error. Also the memory-read
// bandwidth probe the decode-shape GEMM figures are compared with.
#include <dlfcn.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "../core/thread_pool.h"
#include "../napi/async_op.h"
#include "../napi/op_params.h"
#include "../napi/register.h"
#include "../ops/gemm/gemm.h"
#include "dl_lib.h"
#include "baseline_dnnl_matmul.h"
#include "gpu_gemm_bench.h"
#include "gpu_spmm_bench.h"

namespace tk::napi {
namespace {

using bench::Lib;
using bench::open_first;

using dnnl_sgemm_t = int (*)(char, char, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*, int64_t, float, float*,
                             int64_t);
using dnnl_gemm_s8s8s32_t = int (*)(char, char, char, int64_t, int64_t, int64_t, float, const int8_t*, int64_t, int8_t, const int8_t*,
                                    int64_t, int8_t, float, int32_t*, int64_t, const int32_t*);
struct dnnl_version_t {
  int major, minor, patch;
  const char* hash;
  unsigned cpu_runtime, gpu_runtime;
};
using dnnl_version_fn = const dnnl_version_t* (*)();
using cblas_sgemm_t = void (*)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*, int);
using openblas_set_threads_t = void (*)(int);
using openblas_config_t = char* (*)();
using omp_set_threads_t = void (*)(int);

Lib g_dnnl, g_openblas;
bool g_dnnl_matmul = false;
std::string g_dnnl_matmul_why;
dnnl_sgemm_t g_dnnl_sgemm = nullptr;
dnnl_gemm_s8s8s32_t g_dnnl_s8 = nullptr;
cblas_sgemm_t g_cblas_sgemm = nullptr;
openblas_set_threads_t g_openblas_threads = nullptr;
omp_set_threads_t g_omp_threads = nullptr;

void load_all(int threads) {
  static std::once_flag once;
  std::call_once(once, [threads] {
    // oneDNN's OpenMP runtime and OpenBLAS read their thread counts when they load.
    std::string t = std::to_string(threads);
    bench::set_openmp_env(threads);
    setenv("OPENBLAS_NUM_THREADS", t.c_str(), 0);
    // OpenBLAS threads spin 2^28 cycles (~0.1 s) after each call by default, stealing cores from
    // whatever the bench runs next; 2^20 (~0.4 ms) still covers the gaps inside one call.
    setenv("OPENBLAS_THREAD_TIMEOUT", "20", 0);
    g_dnnl = open_first("TENSORKERN_ONEDNN", {"libdnnl.so.3", "libdnnl.so.2", "libdnnl.so"},
                        "install it with `apt-get install libdnnl-dev` or set TENSORKERN_ONEDNN");
    if (g_dnnl.handle) {
      g_dnnl_sgemm = reinterpret_cast<dnnl_sgemm_t>(dlsym(g_dnnl.handle, "dnnl_sgemm"));
      g_dnnl_s8 = reinterpret_cast<dnnl_gemm_s8s8s32_t>(dlsym(g_dnnl.handle, "dnnl_gemm_s8s8s32"));
      if (auto v = reinterpret_cast<dnnl_version_fn>(dlsym(g_dnnl.handle, "dnnl_version"))) {
        const dnnl_version_t* d = v();
        g_dnnl.version = std::to_string(d->major) + "." + std::to_string(d->minor) + "." + std::to_string(d->patch);
        g_dnnl_matmul = bench::dnnl_matmul_load(g_dnnl.handle, d->major, &g_dnnl_matmul_why);
      } else {
        g_dnnl_matmul_why = "libdnnl has no dnnl_version";
      }
      if (!g_dnnl_sgemm) g_dnnl.why = "libdnnl has no dnnl_sgemm";
      g_omp_threads = reinterpret_cast<omp_set_threads_t>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
    }
    g_openblas = open_first("TENSORKERN_OPENBLAS", {"libopenblas.so.0", "libopenblas.so"},
                            "install it with `apt-get install libopenblas0-pthread` or set TENSORKERN_OPENBLAS");
    if (g_openblas.handle) {
      g_cblas_sgemm = reinterpret_cast<cblas_sgemm_t>(dlsym(g_openblas.handle, "cblas_sgemm"));
      g_openblas_threads = reinterpret_cast<openblas_set_threads_t>(dlsym(g_openblas.handle, "openblas_set_num_threads"));
      if (auto c = reinterpret_cast<openblas_config_t>(dlsym(g_openblas.handle, "openblas_get_config"))) g_openblas.version = c();
      if (!g_cblas_sgemm) g_openblas.why = "libopenblas has no cblas_sgemm";
    }
  });
}

Napi::Object lib_info(Napi::Env env, const Lib& l, bool ok) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("available", ok);
  o.Set("path", l.path);
  o.Set("version", l.version);
  o.Set("why", ok ? std::string() : l.why);
  return o;
}

// baselines(threads) -> { onednn: {...}, openblas: {...} }
Napi::Value Baselines(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int threads = get_int(env, info[0], "threads", 1, 4096);
  load_all(threads);
  if (g_openblas_threads) g_openblas_threads(threads);
  if (g_omp_threads) g_omp_threads(threads);
  Napi::Object o = Napi::Object::New(env);
  o.Set("onednn", lib_info(env, g_dnnl, g_dnnl_sgemm != nullptr));
  o.Set("openblas", lib_info(env, g_openblas, g_cblas_sgemm != nullptr));
  Lib mm = g_dnnl;
  if (!g_dnnl_matmul && g_dnnl.handle) mm.why = g_dnnl_matmul_why;
  o.Set("onednnMatmul", lib_info(env, mm, g_dnnl_matmul));
  return o;
}

// The operands every bench GEMM entry takes after its name: (a, b, out, transA, transB), no c or bias.
GemmParams bench_gemm_args(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GemmParams p;
  p.a = unwrap_tensor(env, info[1], "a", nullptr);
  p.b = unwrap_tensor(env, info[2], "b", nullptr);
  p.out = unwrap_tensor(env, info[3], "out", nullptr);
  p.c.ndim = p.bias.ndim = -1;
  p.trans_a = get_bool(env, info[4], "transA");
  p.trans_b = get_bool(env, info[5], "transB");
  return p;
}

// baselineGemm(name, a, b, out, transA, transB): out = op(a) op(b), sync. float32 (both) and int8
// (oneDNN's s8s8s32). Throws for shapes/dtypes the library cannot take.
Napi::Value BaselineGemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw_status(env, TypeMismatch("Expected a baseline name"));
  const std::string name = info[0].As<Napi::String>().Utf8Value();
  GemmParams p = bench_gemm_args(info);
  GemmShape s;
  Status st = gemm_validate(p, &s);
  if (!st.ok()) throw_status(env, st);
  if (s.batch != 1 || !p.a.device.is_cpu()) throw_status(env, Unsupported("baselines take one rank-2 CPU product"));
  const char ta = p.trans_a ? 'T' : 'N', tb = p.trans_b ? 'T' : 'N';
  if (name == "onednn" && p.a.dtype == DType::kFloat32 && g_dnnl_sgemm) {
    int r = g_dnnl_sgemm(ta, tb, s.M, s.N, s.K, 1.0f, p.a.as<float>(), s.lda, p.b.as<float>(), s.ldb, 0.0f, p.out.as<float>(), s.N);
    if (r != 0) throw_status(env, Internal("dnnl_sgemm failed: " + std::to_string(r)));
  } else if (name == "onednn" && p.a.dtype == DType::kInt8 && g_dnnl_s8) {
    const int32_t co = 0;
    int r = g_dnnl_s8(ta, tb, 'F', s.M, s.N, s.K, 1.0f, p.a.as<int8_t>(), s.lda, 0, p.b.as<int8_t>(), s.ldb, 0, 0.0f, p.out.as<int32_t>(),
                      s.N, &co);
    if (r != 0) throw_status(env, Internal("dnnl_gemm_s8s8s32 failed: " + std::to_string(r)));
  } else if (name == "onednnMatmul" && g_dnnl_matmul) {
    Status r = bench::dnnl_matmul_run(p, s);
    if (!r.ok()) throw_status(env, r);
  } else if (name == "openblas" && p.a.dtype == DType::kFloat32 && g_cblas_sgemm) {
    constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;
    g_cblas_sgemm(kRowMajor, p.trans_a ? kTrans : kNoTrans, p.trans_b ? kTrans : kNoTrans, int(s.M), int(s.N), int(s.K), 1.0f,
                  p.a.as<float>(), int(s.lda), p.b.as<float>(), int(s.ldb), 0.0f, p.out.as<float>(), int(s.N));
  } else {
    throw_status(env, Unsupported("baseline " + name + " is not loaded or does not take " + dtype_name(p.a.dtype)));
  }
  return env.Undefined();
}

// memRead(data: Float32Array, threads?) -> seconds for one multi-threaded pass summing every float:
// the read bandwidth a memory-bound kernel can hope for.
Napi::Value MemRead(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TensorView t = unwrap_tensor(env, info[0], "data", nullptr);
  if (t.dtype != DType::kFloat32 || !t.device.is_cpu()) throw_status(env, TypeMismatch("Expected a float32 CPU tensor"));
  const float* x = t.as<float>();
  const int64_t n = t.numel;
  std::atomic<uint32_t> sink{0};
  auto t0 = std::chrono::steady_clock::now();
  // Each thread reads its range as 4 interleaved sequential streams (as the GEMV kernels do with
  // several rows of weights): one stream per core leaves bandwidth unused.
  Status s = parallel_for(n, 1 << 16, [&](int64_t b, int64_t e) {
    constexpr int kStreams = 4;
    const int64_t len = (e - b) / kStreams;
    float acc[kStreams][8] = {};
    int64_t i = 0;
    for (; i + 8 <= len; i += 8)
      for (int st = 0; st < kStreams; ++st)
        for (int j = 0; j < 8; ++j) acc[st][j] += x[b + st * len + i + j];
    float total = 0;
    for (int st = 0; st < kStreams; ++st)
      for (int64_t r = b + st * len + i; r < b + (st + 1) * len; ++r) total += x[r];
    for (int64_t r = b + kStreams * len; r < e; ++r) total += x[r];
    for (auto& row : acc)
      for (float v : row) total += v;
    uint32_t bits;
    std::memcpy(&bits, &total, 4);
    sink.fetch_xor(bits, std::memory_order_relaxed);
  });
  auto t1 = std::chrono::steady_clock::now();
  if (!s.ok()) throw_status(env, s);
  return Napi::Number::New(env, std::chrono::duration<double>(t1 - t0).count());
}

}  // namespace

// { available, path, version, why } of a GPU baseline library.
template <class Info>
Napi::Object gpu_lib_info(Napi::Env env, const Info& c) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("available", c.available);
  o.Set("path", c.path);
  o.Set("version", c.version);
  o.Set("why", c.why);
  return o;
}

Napi::Array seconds_array(Napi::Env env, const std::vector<double>& secs) {
  Napi::Array a = Napi::Array::New(env, secs.size());
  for (size_t i = 0; i < secs.size(); ++i) a.Set(uint32_t(i), secs[i]);
  return a;
}

// cublasLoad() / cusparseLoad() -> { available, path, version, why }: the GPU baselines (dlopen).
Napi::Value CublasLoad(const Napi::CallbackInfo& info) { return gpu_lib_info(info.Env(), bench::cublas_load()); }
Napi::Value CusparseLoad(const Napi::CallbackInfo& info) { return gpu_lib_info(info.Env(), bench::cusparse_load()); }

// cusparseSpmmTime(rowPtr, colIdx, values, rows, cols, b, out, warmup, runs) -> seconds per run (CUDA
// events) of cusparseSpMM on device tensors.
Napi::Value CusparseSpmmTime(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Params in(env, info[0], "cusparseSpmmTime params");  // { rowPtr, colIdx, values, rows, cols, b, out }: device tensors
  const TensorView rp = in.tensor(Key::rowPtr, nullptr), ci = in.tensor(Key::colIdx, nullptr), v = in.tensor(Key::values, nullptr);
  const int64_t rows = in.dim(Key::rows), cols = in.dim(Key::cols);
  const TensorView b = in.tensor(Key::b, nullptr), out = in.tensor(Key::out, nullptr);
  const int warmup = get_int(env, info[1], "warmup", 0, 1000), runs = get_int(env, info[2], "runs", 1, 100000);
  std::vector<double> secs;
  Status st = bench::gpu_time_cusparse_spmm(rp, ci, v, rows, cols, b, out, warmup, runs, &secs);
  if (!st.ok()) throw_status(env, st);
  return seconds_array(env, secs);
}

// gpuGemmTime(which, a, b, out, transA, transB, allowTf32, warmup, runs) -> seconds per run (CUDA
// events), device tensors; which = 'tensorkern' | 'cublas'.
Napi::Value GpuGemmTime(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw_status(env, TypeMismatch("Expected 'tensorkern' or 'cublas'"));
  const std::string which = info[0].As<Napi::String>().Utf8Value();
  GemmParams p;
  GemmShape s;
  read_gemm(Params(env, info[1], "gemm params"), &p, &s, nullptr);
  const int warmup = get_int(env, info[2], "warmup", 0, 1000), runs = get_int(env, info[3], "runs", 1, 100000);
  std::vector<double> secs;
  Status st = bench::gpu_time_gemm(which, p, warmup, runs, &secs);
  if (!st.ok()) throw_status(env, st);
  return seconds_array(env, secs);
}

void register_bench(Napi::Env env, const Exports& e) {
  set_fn<CublasLoad>(env, e.bench, "cublasLoad");
  set_fn<GpuGemmTime>(env, e.bench, "gpuGemmTime");
  set_fn<CusparseLoad>(env, e.bench, "cusparseLoad");
  set_fn<CusparseSpmmTime>(env, e.bench, "cusparseSpmmTime");
  set_fn<Baselines>(env, e.bench, "baselines");
  set_fn<BaselineGemm>(env, e.bench, "baselineGemm");
  set_fn<MemRead>(env, e.bench, "memRead");
}

}  // namespace tk::napi

// librsb (the Recursive Sparse Blocks library) as the SpMM bench baseline, loaded with dlopen:
//   rsbLoad(threads) -> { available, path, version, why }
//   rsbPrepare(rowPtr, colIdx, values, rows, cols) -> handle   (int32 CSR; librsb builds its own format)
//   rsbSpmm(handle, b, out)                                    (out = A @ b, row-major, sync)
//   rsbFree(handle)
// The matrix conversion is done once, outside the timed runs, as a user of librsb would.
#include <dlfcn.h>

#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "../napi/async_op.h"
#include "../napi/register.h"
#include "dl_lib.h"

namespace tk::napi {
namespace {

// rsb.h: 32-bit indices, typecode 'S' = float, 'N' = no transposition, row-major order flag 0.
using rsb_err_t = int;
using rsb_lib_init_t = rsb_err_t (*)(void*);
using rsb_lib_set_opt_t = rsb_err_t (*)(int, const void*);
using rsb_alloc_csr_t = void* (*)(const void*, const int*, const int*, int, char, int, int, int, int, int, rsb_err_t*);
using rsb_free_t = void* (*)(void*);
using rsb_spmm_t = rsb_err_t (*)(int, const void*, const void*, int, int, const void*, int, const void*, void*, int);
constexpr int kRsbWantExecutingThreads = 0x000009;
constexpr int kRsbTranspositionN = 0x4E;
constexpr int kRsbRowMajor = 0;
constexpr int kRsbDefaultFlags = 0;

bench::Lib g_rsb;
rsb_alloc_csr_t g_alloc = nullptr;
rsb_free_t g_free = nullptr;
rsb_spmm_t g_spmm = nullptr;
std::mutex g_mu;

struct Mat {
  void* m;
  int64_t rows, cols;
};
std::vector<Mat> g_info;

void load(int threads) {
  static std::once_flag once;
  std::call_once(once, [threads] {
    bench::set_openmp_env(threads);  // read by librsb's OpenMP runtime when it loads
    g_rsb = bench::open_first("TENSORKERN_LIBRSB", {"librsb.so.0", "librsb.so"},
                              "install it with `apt-get install librsb-dev` or set TENSORKERN_LIBRSB");
    if (!g_rsb.handle) return;
    auto init = reinterpret_cast<rsb_lib_init_t>(dlsym(g_rsb.handle, "rsb_lib_init"));
    auto set_opt = reinterpret_cast<rsb_lib_set_opt_t>(dlsym(g_rsb.handle, "rsb_lib_set_opt"));
    g_alloc = reinterpret_cast<rsb_alloc_csr_t>(dlsym(g_rsb.handle, "rsb_mtx_alloc_from_csr_const"));
    g_free = reinterpret_cast<rsb_free_t>(dlsym(g_rsb.handle, "rsb_mtx_free"));
    g_spmm = reinterpret_cast<rsb_spmm_t>(dlsym(g_rsb.handle, "rsb_spmm"));
    if (!init || !set_opt || !g_alloc || !g_free || !g_spmm) {
      g_rsb.why = "librsb lacks rsb_lib_init / rsb_mtx_alloc_from_csr_const / rsb_spmm";
      g_spmm = nullptr;
      return;
    }
    if (int e = init(nullptr); e != 0) {
      g_rsb.why = "rsb_lib_init failed: " + std::to_string(e);
      g_spmm = nullptr;
      return;
    }
    int n = threads;
    set_opt(kRsbWantExecutingThreads, &n);
    g_rsb.version = "librsb (dlopen)";
  });
}

Napi::Value RsbLoad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  load(get_int(env, info[0], "threads", 1, 4096));
  Napi::Object o = Napi::Object::New(env);
  o.Set("available", g_spmm != nullptr);
  o.Set("path", g_rsb.path);
  o.Set("version", g_rsb.version);
  o.Set("why", g_spmm ? std::string() : g_rsb.why);
  return o;
}

Napi::Value RsbPrepare(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!g_spmm) throw_status(env, Unsupported("librsb is not loaded (call rsbLoad first)"));
  TensorView rp = unwrap_tensor(env, info[0], "rowPtr", nullptr);
  TensorView ci = unwrap_tensor(env, info[1], "colIdx", nullptr);
  TensorView v = unwrap_tensor(env, info[2], "values", nullptr);
  const int32_t rows = get_int(env, info[3], "rows", 0, 0x7fffffff);
  const int32_t cols = get_int(env, info[4], "cols", 0, 0x7fffffff);
  if (rp.dtype != DType::kInt32 || ci.dtype != DType::kInt32 || v.dtype != DType::kFloat32 || rp.numel != int64_t(rows) + 1 ||
      ci.numel != v.numel) {
    throw_status(env, InvalidArgument("librsb takes int32 CSR with float32 values of consistent lengths"));
  }
  rsb_err_t err = 0;
  void* m = g_alloc(v.data, rp.as<int>(), ci.as<int>(), static_cast<int>(v.numel), 'S', rows, cols, 1, 1, kRsbDefaultFlags, &err);
  if (!m || err != 0) throw_status(env, Internal("rsb_mtx_alloc_from_csr_const failed: " + std::to_string(err)));
  std::lock_guard<std::mutex> lock(g_mu);
  g_info.push_back({m, rows, cols});
  return Napi::Number::New(env, double(g_info.size() - 1));
}

Mat* find(Napi::Env env, Napi::Value h) {
  const int32_t i = get_int(env, h, "handle", 0, 0x7fffffff);
  std::lock_guard<std::mutex> lock(g_mu);
  if (size_t(i) >= g_info.size() || !g_info[i].m) throw_status(env, InvalidArgument("Expected a live librsb matrix handle"));
  return &g_info[i];
}

Napi::Value RsbSpmm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Mat* m = find(env, info[0]);
  TensorView b = unwrap_tensor(env, info[1], "b", nullptr);
  TensorView out = unwrap_tensor(env, info[2], "out", nullptr);
  if (b.dtype != DType::kFloat32 || out.dtype != DType::kFloat32 || b.ndim != 2 || out.ndim != 2 || b.shape[0] != m->cols ||
      out.shape[0] != m->rows || out.shape[1] != b.shape[1] || !b.device.is_cpu() || !out.device.is_cpu()) {
    throw_status(env, InvalidArgument("Expected float32 b [cols, N] and out [rows, N] on the CPU"));
  }
  const float one = 1.0f, zero = 0.0f;
  const int n = static_cast<int>(b.shape[1]);
  rsb_err_t e = g_spmm(kRsbTranspositionN, &one, m->m, n, kRsbRowMajor, b.data, n, &zero, out.data, n);
  if (e != 0) throw_status(env, Internal("rsb_spmm failed: " + std::to_string(e)));
  return env.Undefined();
}

Napi::Value RsbFree(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Mat* m = find(env, info[0]);
  g_free(m->m);
  m->m = nullptr;
  return env.Undefined();
}

}  // namespace

void register_bench_spmm(Napi::Env env, const Exports& e) {
  set_fn<RsbLoad>(env, e.bench, "rsbLoad");
  set_fn<RsbPrepare>(env, e.bench, "rsbPrepare");
  set_fn<RsbSpmm>(env, e.bench, "rsbSpmm");
  set_fn<RsbFree>(env, e.bench, "rsbFree");
}

}  // namespace tk::napi

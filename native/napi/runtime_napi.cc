// Process and device information, thread and ISA settings: the binding behind devices(), whyNoGpu(),
// setNumThreads() and `tensorkern info`.
#include <cstring>

#include "../core/cpu_features.h"
#include "../core/dtype.h"
#include "../core/thread_pool.h"
#include "../cuda/runtime.h"
#include "errors.h"
#include "register.h"
#include "tensor_arg.h"

namespace tk::napi {
namespace {

Napi::Value Probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);

  const CpuFeatures& f = cpu_features();
  const CpuTopology& t = cpu_topology();
  Napi::Object cpu = Napi::Object::New(env);
  cpu.Set("vendor", f.vendor);
  cpu.Set("brand", f.brand);
  cpu.Set("osModel", f.os_model);
  cpu.Set("logicalCpus", t.logical_cpus);
  cpu.Set("physicalCores", t.physical_cores);
  cpu.Set("bestIsa", isa_name(best_isa()));
  cpu.Set("activeIsa", isa_name(active_isa()));
  Napi::Object feats = Napi::Object::New(env);
  struct {
    const char* name;
    bool on;
  } list[] = {
      {"sse4.2", f.sse42},
      {"avx", f.avx},
      {"avx2", f.avx2},
      {"fma", f.fma},
      {"f16c", f.f16c},
      {"bmi2", f.bmi2},
      {"avx512f", f.avx512f},
      {"avx512bw", f.avx512bw},
      {"avx512vl", f.avx512vl},
      {"avx512dq", f.avx512dq},
      {"avx512vnni", f.avx512vnni},
      {"avx512bf16", f.avx512bf16},
      {"avxvnni", f.avxvnni},
      {"neon", f.neon},
      {"dotprod", f.neon_dotprod},
      {"fp16", f.neon_fp16},
      {"bf16", f.neon_bf16},
      {"i8mm", f.neon_i8mm},
  };
  for (auto& x : list) feats.Set(x.name, x.on);
  cpu.Set("features", feats);
  out.Set("cpu", cpu);

  const cuda::Probe& p = cuda::probe();
  Napi::Object c = Napi::Object::New(env);
  c.Set("built", p.built_with_cuda);
  c.Set("runtimeVersion", p.runtime_version);
  c.Set("driverVersion", p.driver_version);
  c.Set("whyNoGpu", p.why_no_gpu);
  Napi::Array devs = Napi::Array::New(env, p.devices.size());
  for (size_t i = 0; i < p.devices.size(); ++i) {
    const cuda::DeviceInfo& d = p.devices[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("index", d.index);
    o.Set("name", d.name);
    o.Set("ccMajor", d.cc_major);
    o.Set("ccMinor", d.cc_minor);
    o.Set("totalMemory", static_cast<double>(d.total_memory));
    o.Set("multiprocessors", d.multiprocessors);
    o.Set("smemPerBlockOptin", static_cast<double>(d.smem_per_block_optin));
    o.Set("smemPerSm", static_cast<double>(d.smem_per_sm));
    o.Set("l2Bytes", d.l2_bytes);
    o.Set("clockKhz", d.clock_khz);
    o.Set("memoryClockKhz", d.memory_clock_khz);
    o.Set("memoryBusBits", d.memory_bus_bits);
    o.Set("usable", d.usable);
    o.Set("unusableWhy", d.unusable_why);
    devs.Set(static_cast<uint32_t>(i), o);
  }
  c.Set("devices", devs);
  out.Set("cuda", c);

  Napi::Object build = Napi::Object::New(env);
#if defined(TK_WITH_CUDA)
  build.Set("cuda", true);
  build.Set("cudaArchitectures", TK_CUDA_ARCHS);
#else
  build.Set("cuda", false);
  build.Set("cudaArchitectures", "");
#endif
#if defined(__clang__)
  build.Set("compiler", "clang " __clang_version__);
#elif defined(__GNUC__)
  build.Set("compiler", "gcc " __VERSION__);
#else
  build.Set("compiler", "unknown");
#endif
  build.Set("napiVersion", NAPI_VERSION);
  out.Set("build", build);

  // The dtype table as native code sees it; lib/dtype.ts must agree (test/dtype.test.ts).
  Napi::Array dts = Napi::Array::New(env, kNumDTypes);
  for (int i = 0; i < kNumDTypes; ++i) {
    Napi::Object d = Napi::Object::New(env);
    d.Set("code", i);
    d.Set("name", dtype_name(static_cast<DType>(i)));
    d.Set("bits", dtype_bits(static_cast<DType>(i)));
    dts.Set(static_cast<uint32_t>(i), d);
  }
  out.Set("dtypes", dts);
  return out;
}

Napi::Value MemInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int dev = get_int(env, info[0], "device", 0, 1023);
  size_t free_b = 0, total_b = 0;
  Status s = cuda::mem_info(dev, &free_b, &total_b);
  if (!s.ok()) throw_status(env, s);
  Napi::Object o = Napi::Object::New(env);
  o.Set("free", static_cast<double>(free_b));
  o.Set("total", static_cast<double>(total_b));
  o.Set("inUse", static_cast<double>(cuda::pool_in_use(dev)));
  return o;
}

Napi::Value Zero(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TensorView t = unwrap_tensor(env, info[0], "dst", nullptr);
  Status s = t.device.is_cuda() ? cuda::fill_zero(t.device.index, t.data, t.nbytes()) : Status::Ok();
  if (t.device.is_cpu() && t.nbytes() > 0) std::memset(t.data, 0, t.nbytes());
  if (!s.ok()) throw_status(env, s);
  return env.Undefined();
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), num_threads()); }

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  set_num_threads(get_int(info.Env(), info[0], "n", 0, 4096));
  return info.Env().Undefined();
}

Napi::Value DefaultNumThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), default_num_threads()); }

Napi::Value SetIsaCap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw_status(env, TypeMismatch("Expected a string for isa"));
  std::string name = info[0].As<Napi::String>().Utf8Value();
  if (!set_isa_cap(name)) {
    throw_status(env, InvalidArgument("Expected one of auto, scalar, avx2, avx512, neon for isa but received \"" + name + "\""));
  }
  return Napi::String::New(env, isa_name(active_isa()));
}

// "auto" | "on" | "off" -> whether bfloat16 products now run on vdpbf16ps (core/cpu_features.h).
Napi::Value SetBf16Dot(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw_status(env, TypeMismatch("Expected a string for mode"));
  std::string mode = info[0].As<Napi::String>().Utf8Value();
  if (!set_bf16_dot(mode)) throw_status(env, InvalidArgument("Expected one of auto, on, off for mode but received \"" + mode + "\""));
  return Napi::Boolean::New(env, bf16_dot_enabled());
}

}  // namespace

void register_runtime(Napi::Env env, const Exports& e) {
  set_fn<Probe>(env, e.runtime, "probe");
  set_fn<Zero>(env, e.runtime, "zero");
  set_fn<MemInfo>(env, e.runtime, "memInfo");
  set_fn<GetNumThreads>(env, e.runtime, "getNumThreads");
  set_fn<SetNumThreads>(env, e.runtime, "setNumThreads");
  set_fn<DefaultNumThreads>(env, e.runtime, "defaultNumThreads");
  set_fn<SetIsaCap>(env, e.runtime, "setIsaCap");
  set_fn<SetBf16Dot>(env, e.runtime, "setBf16Dot");
}

}  // namespace tk::napi

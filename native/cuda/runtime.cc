#include "runtime.h"

#include <cuda_runtime_api.h>

#include <cstdint>
#include <cstdlib>
#include <mutex>

#include "check.h"

namespace tk::cuda {
namespace {

// The oldest architecture this build has code for (CMakeLists.txt: 75;80;86;89;90a + PTX).
constexpr int kMinCc = 75;

std::string version_str(int v) { return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10); }

Probe do_probe() {
  Probe p;
  p.built_with_cuda = true;
  cudaRuntimeGetVersion(&p.runtime_version);
  if (cudaDriverGetVersion(&p.driver_version) != cudaSuccess) p.driver_version = 0;
  if (p.driver_version == 0) {
    p.why_no_gpu = "no NVIDIA driver found (libcuda.so.1 could not be loaded); install the NVIDIA driver to use a GPU";
    return p;
  }
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e == cudaErrorInsufficientDriver || p.driver_version < p.runtime_version) {
    cudaGetLastError();
    p.why_no_gpu = "the NVIDIA driver supports CUDA " + version_str(p.driver_version) + " but this build uses CUDA " +
                   version_str(p.runtime_version) + "; update the driver";
    return p;
  }
  if (e == cudaErrorNoDevice || (e == cudaSuccess && count == 0)) {
    cudaGetLastError();
    const char* vis = std::getenv("CUDA_VISIBLE_DEVICES");
    p.why_no_gpu = std::string("the NVIDIA driver reports no CUDA device") +
                   (vis ? std::string(" (CUDA_VISIBLE_DEVICES=\"") + vis + "\")" : std::string());
    return p;
  }
  if (e != cudaSuccess) {
    cudaGetLastError();
    p.why_no_gpu = std::string("CUDA initialization failed: ") + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")";
    return p;
  }
  for (int i = 0; i < count; ++i) {
    DeviceInfo d;
    d.index = i;
    cudaDeviceProp prop;
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) {
      cudaGetLastError();
      d.name = "unknown";
      d.unusable_why = "cudaGetDeviceProperties failed";
      p.devices.push_back(d);
      continue;
    }
    d.name = prop.name;
    d.cc_major = prop.major;
    d.cc_minor = prop.minor;
    d.total_memory = prop.totalGlobalMem;
    d.multiprocessors = prop.multiProcessorCount;
    d.smem_per_block_optin = prop.sharedMemPerBlockOptin;
    d.smem_per_sm = prop.sharedMemPerMultiprocessor;
    d.l2_bytes = prop.l2CacheSize;
    cudaDeviceGetAttribute(&d.clock_khz, cudaDevAttrClockRate, i);
    cudaDeviceGetAttribute(&d.memory_clock_khz, cudaDevAttrMemoryClockRate, i);
    cudaDeviceGetAttribute(&d.memory_bus_bits, cudaDevAttrGlobalMemoryBusWidth, i);
    int cc = prop.major * 10 + prop.minor;
    d.usable = cc >= kMinCc;
    if (!d.usable) {
      d.unusable_why =
          "compute capability " + std::to_string(prop.major) + "." + std::to_string(prop.minor) + " is below the 7.5 this build supports";
    }
    p.devices.push_back(d);
  }
  bool any = false;
  for (auto& d : p.devices) any = any || d.usable;
  if (!any) p.why_no_gpu = "no usable CUDA device: " + p.devices[0].name + ": " + p.devices[0].unusable_why;
  return p;
}

struct DeviceState {
  std::once_flag once;
  Status init_status;
  cudaStream_t stream = nullptr;
  cudaMemPool_t pool = nullptr;  // null: the device has no memory pools, use cudaMalloc
};

constexpr int kMaxDevices = 64;
DeviceState g_state[kMaxDevices];

std::mutex g_sticky_mutex;
std::string g_sticky;  // the first sticky error, "" when none

Status check_device(int device) {
  {
    std::lock_guard<std::mutex> lock(g_sticky_mutex);
    if (!g_sticky.empty()) return Status(Code::kCuda, "an earlier GPU failure made CUDA unusable in this process: " + g_sticky);
  }
  const Probe& p = probe();
  if (!p.why_no_gpu.empty() && p.devices.empty()) return NoGpu(p.why_no_gpu);
  if (device < 0 || device >= static_cast<int>(p.devices.size()) || device >= kMaxDevices) {
    return NoGpu("CUDA device " + std::to_string(device) + " does not exist (" + std::to_string(p.devices.size()) + " visible)");
  }
  if (!p.devices[device].usable) return NoGpu("CUDA device " + std::to_string(device) + ": " + p.devices[device].unusable_why);
  return Status::Ok();
}

// Sets the device current and creates its stream and pool on first use.
Status enter(int device, DeviceState** out) {
  TK_RETURN_IF_ERROR(check_device(device));
  TK_CUDA_CHECK(cudaSetDevice(device));
  DeviceState& s = g_state[device];
  std::call_once(s.once, [&] {
    s.init_status = guarded([&]() -> Status {
      TK_CUDA_CHECK(cudaStreamCreateWithFlags(&s.stream, cudaStreamNonBlocking));
      int pools = 0;
      cudaDeviceGetAttribute(&pools, cudaDevAttrMemoryPoolsSupported, device);
      if (pools) {
        cudaMemPoolProps props = {};
        props.allocType = cudaMemAllocationTypePinned;
        props.location.type = cudaMemLocationTypeDevice;
        props.location.id = device;
        TK_CUDA_CHECK(cudaMemPoolCreate(&s.pool, &props));
        // Keep freed blocks cached for reuse (trimmed on out-of-memory).
        uint64_t threshold = UINT64_MAX;
        TK_CUDA_CHECK(cudaMemPoolSetAttribute(s.pool, cudaMemPoolAttrReleaseThreshold, &threshold));
      }
      return Status::Ok();
    });
  });
  TK_RETURN_IF_ERROR(s.init_status);
  *out = &s;
  return Status::Ok();
}

Status copy(int device, void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  if (bytes == 0) return Status::Ok();
  DeviceState* s;
  TK_RETURN_IF_ERROR(enter(device, &s));
  TK_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, kind, s->stream));
  TK_CUDA_CHECK(cudaStreamSynchronize(s->stream));
  return Status::Ok();
}

}  // namespace

const Probe& probe() {
  static const Probe p = do_probe();
  return p;
}

bool usable(int device) { return check_device(device).ok(); }

void record_sticky(const std::string& message) noexcept {
  try {
    std::lock_guard<std::mutex> lock(g_sticky_mutex);
    if (g_sticky.empty()) g_sticky = message;
  } catch (...) {
  }
}

std::string sticky_error() {
  std::lock_guard<std::mutex> lock(g_sticky_mutex);
  return g_sticky;
}

size_t pool_in_use(int device) noexcept {
  DeviceState* s;
  if (!enter(device, &s).ok() || s->pool == nullptr) return 0;
  uint64_t used = 0;
  if (cudaMemPoolGetAttribute(s->pool, cudaMemPoolAttrUsedMemCurrent, &used) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return static_cast<size_t>(used);
}

Status set_device(int device) {
  DeviceState* s;
  return enter(device, &s);
}

void* stream(int device) {
  DeviceState* s;
  return enter(device, &s).ok() ? static_cast<void*>(s->stream) : nullptr;
}

Status mem_info(int device, size_t* free_bytes, size_t* total_bytes) {
  DeviceState* s;
  TK_RETURN_IF_ERROR(enter(device, &s));
  TK_CUDA_CHECK(cudaMemGetInfo(free_bytes, total_bytes));
  return Status::Ok();
}

Status alloc(int device, size_t bytes, void** ptr) {
  *ptr = nullptr;
  if (bytes == 0) return Status::Ok();
  DeviceState* s;
  TK_RETURN_IF_ERROR(enter(device, &s));
  for (int attempt = 0; attempt < 2; ++attempt) {
    cudaError_t e = s->pool ? cudaMallocFromPoolAsync(ptr, bytes, s->pool, s->stream) : cudaMalloc(ptr, bytes);
    if (e == cudaSuccess) return Status::Ok();
    cudaGetLastError();  // clear the (non-sticky) allocation error
    if (e != cudaErrorMemoryAllocation || attempt == 1 || s->pool == nullptr) {
      *ptr = nullptr;
      return from_cuda(e, ("allocating " + std::to_string(bytes) + " bytes on cuda:" + std::to_string(device)).c_str());
    }
    // Give cached blocks back to the device and try once more.
    cudaStreamSynchronize(s->stream);
    cudaMemPoolTrimTo(s->pool, 0);
  }
  return OutOfMemory("GPU memory exhausted");
}

void release(int device, void* ptr) noexcept {
  if (ptr == nullptr) return;
  DeviceState* s;
  if (!enter(device, &s).ok()) return;
  if (s->pool) {
    cudaFreeAsync(ptr, s->stream);
  } else {
    cudaStreamSynchronize(s->stream);
    cudaFree(ptr);
  }
}

Status copy_to_device(int device, void* dst, const void* src, size_t bytes) {
  return copy(device, dst, src, bytes, cudaMemcpyHostToDevice);
}
Status copy_to_host(int device, void* dst, const void* src, size_t bytes) { return copy(device, dst, src, bytes, cudaMemcpyDeviceToHost); }
Status copy_device_to_device(int device, void* dst, const void* src, size_t bytes) {
  return copy(device, dst, src, bytes, cudaMemcpyDeviceToDevice);
}

Status fill_zero(int device, void* dst, size_t bytes) {
  if (bytes == 0) return Status::Ok();
  DeviceState* s;
  TK_RETURN_IF_ERROR(enter(device, &s));
  TK_CUDA_CHECK(cudaMemsetAsync(dst, 0, bytes, s->stream));
  return Status::Ok();
}

Status synchronize(int device) {
  DeviceState* s;
  TK_RETURN_IF_ERROR(enter(device, &s));
  TK_CUDA_CHECK(cudaStreamSynchronize(s->stream));
  return Status::Ok();
}

}  // namespace tk::cuda

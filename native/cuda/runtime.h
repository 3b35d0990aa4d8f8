// CUDA runtime probing, per-device streams and the stream-ordered memory pool.
// This header has no CUDA includes so host code of both builds can use it: runtime.cc implements it
// over the statically linked CUDA runtime, runtime_stub.cc (the CPU-only build) answers "built
// without CUDA".
#pragma once
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "../core/status.h"
#include "../core/tensor_view.h"

namespace tk::cuda {

struct DeviceInfo {
  int index = 0;
  std::string name;
  int cc_major = 0, cc_minor = 0;
  size_t total_memory = 0;
  int multiprocessors = 0;
  size_t smem_per_block_optin = 0;  // opt-in shared memory per block (bytes)
  size_t smem_per_sm = 0;
  int l2_bytes = 0;
  int clock_khz = 0, memory_clock_khz = 0, memory_bus_bits = 0;
  bool usable = false;       // compute capability supported by this build
  std::string unusable_why;  // when not usable
};

struct Probe {
  bool built_with_cuda = false;
  int runtime_version = 0;  // e.g. 13000
  int driver_version = 0;   // CUDA version the driver supports, 0 when no driver
  std::vector<DeviceInfo> devices;
  std::string why_no_gpu;  // empty when at least one device is usable
};

// Probed once per process, thread-safe. Never fails: a missing driver is a reason, not an error.
const Probe& probe();
bool usable(int device);

Status mem_info(int device, size_t* free_bytes, size_t* total_bytes);
// Bytes of the library's pool now handed out to live tensors and ops (0 without memory pools).
size_t pool_in_use(int device) noexcept;

// A sticky CUDA error (illegal address, trap, ...) poisons the process's context: it is remembered, and
// every later GPU call returns it at once, naming the first failure, instead of reaching the driver.
void record_sticky(const std::string& message) noexcept;
// The first sticky error's message, or "" when none happened.
std::string sticky_error();

// Test hook (test/gpu/faults.test.ts): "trap" launches a kernel that executes a trap instruction, which
// leaves a sticky error behind. Returns the error the launch produced.
Status inject_fault(int device, const std::string& kind);

// Stream-ordered allocation on the library's stream for `device` (a pool per device that keeps freed
// blocks for reuse; on out-of-memory it trims the pool and retries once).
Status alloc(int device, size_t bytes, void** ptr);
void release(int device, void* ptr) noexcept;

// Copies and fills on the library stream, synchronized before return (the caller is a worker thread).
Status copy_to_device(int device, void* dst, const void* src, size_t bytes);
Status copy_to_host(int device, void* dst, const void* src, size_t bytes);
Status copy_device_to_device(int device, void* dst, const void* src, size_t bytes);
Status synchronize(int device);
// Zero-fills on the library stream without waiting (later work on the stream sees the zeros).
Status fill_zero(int device, void* dst, size_t bytes);

// The library stream for `device` as a cudaStream_t (void* here to keep CUDA headers out).
void* stream(int device);
// Makes `device` current on the calling thread.
Status set_device(int device);

// The name of the kernel an op last ran on a GPU (what its tests and bench report), safe across threads.
class LastKernel {
 public:
  void set(std::string name) {
    std::lock_guard<std::mutex> lock(mu_);
    name_ = std::move(name);
  }
  std::string get() {
    std::lock_guard<std::mutex> lock(mu_);
    return name_;
  }

 private:
  std::mutex mu_;
  std::string name_;
};

// Device copies of host tensors for an op run on a GPU (host tensors with a GPU as the run device):
// copy_in allocates on `device` and uploads when asked; every allocation is released when this goes out of
// scope, on every path.
class DeviceCopies {
 public:
  explicit DeviceCopies(int device) : device_(device) {}
  ~DeviceCopies() {
    for (void* q : ptrs_) release(device_, q);
  }
  DeviceCopies(const DeviceCopies&) = delete;
  DeviceCopies& operator=(const DeviceCopies&) = delete;
  // *dev = host's view on the device (absent stays absent); upload copies the data in.
  Status copy_in(const TensorView& host, TensorView* dev, bool upload) {
    *dev = host;
    dev->device = Device::cuda(device_);
    if (!present(host)) return Status::Ok();
    void* q = nullptr;
    TK_RETURN_IF_ERROR(alloc(device_, host.nbytes(), &q));
    if (q) ptrs_.push_back(q);
    dev->data = q;
    return upload ? copy_to_device(device_, q, host.data, host.nbytes()) : Status::Ok();
  }

 private:
  int device_;
  std::vector<void*> ptrs_;
};

}  // namespace tk::cuda

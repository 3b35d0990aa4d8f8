// DeviceBuffer: the JS handle of a device allocation. The memory itself is a shared_ptr<Allocation>,
// so an async op holding it keeps the memory alive even if the tensor is disposed or collected
// while the op runs.
#pragma once
#include <napi.h>

#include <memory>

namespace tk::napi {

struct Allocation {
  int device = 0;
  void* ptr = nullptr;
  size_t bytes = 0;
  Allocation(int d, void* p, size_t b) : device(d), ptr(p), bytes(b) {}
  ~Allocation();
  Allocation(const Allocation&) = delete;
  Allocation& operator=(const Allocation&) = delete;
};

class DeviceBuffer : public Napi::ObjectWrap<DeviceBuffer> {
 public:
  static Napi::Function Init(Napi::Env env);
  // new DeviceBuffer(device: number, bytes: number)
  explicit DeviceBuffer(const Napi::CallbackInfo& info);
  ~DeviceBuffer() override;

  // The allocation, or null once released.
  std::shared_ptr<Allocation> allocation() const { return alloc_; }
  static DeviceBuffer* FromValue(Napi::Env env, Napi::Value v);

 private:
  Napi::Value Release(const Napi::CallbackInfo& info);
  Napi::Value Bytes(const Napi::CallbackInfo& info);
  Napi::Value Device(const Napi::CallbackInfo& info);
  Napi::Value Released(const Napi::CallbackInfo& info);
  void drop(Napi::Env env);

  std::shared_ptr<Allocation> alloc_;
  int64_t accounted_ = 0;  // bytes reported to V8 as external memory, to pace GC of undisposed tensors
};

}  // namespace tk::napi

#include "device_buffer.h"

#include "../cuda/runtime.h"
#include "addon_data.h"
#include "errors.h"

namespace tk::napi {

Allocation::~Allocation() { cuda::release(device, ptr); }

Napi::Function DeviceBuffer::Init(Napi::Env env) {
  return DefineClass(env, "DeviceBuffer",
                     {InstanceMethod<&DeviceBuffer::Release>("release"), InstanceAccessor<&DeviceBuffer::Bytes>("bytes"),
                      InstanceAccessor<&DeviceBuffer::Device>("device"), InstanceAccessor<&DeviceBuffer::Released>("released")});
}

DeviceBuffer::DeviceBuffer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DeviceBuffer>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) {
    throw_status(env, TypeMismatch("Expected (device: number, bytes: number) for DeviceBuffer"));
  }
  double dev = info[0].As<Napi::Number>().DoubleValue();
  double bytes = info[1].As<Napi::Number>().DoubleValue();
  if (!(dev >= 0 && dev < 1024 && dev == static_cast<int>(dev))) {
    throw_status(env, OutOfRange("Expected a CUDA device index for device but received " + std::to_string(dev)));
  }
  if (!(bytes >= 0 && bytes <= 9007199254740992.0 && bytes == static_cast<double>(static_cast<int64_t>(bytes)))) {
    throw_status(env, OutOfRange("Expected a byte count between 0 and 2^53 for bytes"));
  }
  void* ptr = nullptr;
  Status s = cuda::alloc(static_cast<int>(dev), static_cast<size_t>(bytes), &ptr);
  if (!s.ok()) throw_status(env, s);
  alloc_ = std::make_shared<Allocation>(static_cast<int>(dev), ptr, static_cast<size_t>(bytes));
  accounted_ = static_cast<int64_t>(bytes);
  Napi::MemoryManagement::AdjustExternalMemory(env, accounted_);
}

DeviceBuffer::~DeviceBuffer() { drop(Env()); }

void DeviceBuffer::drop(Napi::Env env) {
  alloc_.reset();  // the memory goes when the last holder (an op in flight, maybe) lets go
  if (accounted_ != 0) {
    Napi::MemoryManagement::AdjustExternalMemory(env, -accounted_);
    accounted_ = 0;
  }
}

DeviceBuffer* DeviceBuffer::FromValue(Napi::Env env, Napi::Value v) {
  if (!v.IsObject()) return nullptr;
  Napi::Object o = v.As<Napi::Object>();
  if (!o.InstanceOf(addon_data(env).device_buffer_ctor.Value())) return nullptr;
  return ObjectWrap<DeviceBuffer>::Unwrap(o);
}

Napi::Value DeviceBuffer::Release(const Napi::CallbackInfo& info) {
  drop(info.Env());
  return info.Env().Undefined();
}
Napi::Value DeviceBuffer::Bytes(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), alloc_ ? static_cast<double>(alloc_->bytes) : 0.0);
}
Napi::Value DeviceBuffer::Device(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), alloc_ ? alloc_->device : -1); }
Napi::Value DeviceBuffer::Released(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !alloc_); }

}  // namespace tk::napi

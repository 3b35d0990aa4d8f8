#include "tensor_arg.h"

#include <cmath>
#include <string>

#include "../core/tensor_check.h"
#include "addon_data.h"
#include "errors.h"

namespace tk::napi {
namespace {

[[noreturn]] void fail(Napi::Env env, Code code, const std::string& msg) { throw_status(env, Status(code, msg)); }

std::string describe(Napi::Value v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsNumber()) return "number " + std::to_string(v.As<Napi::Number>().DoubleValue());
  if (v.IsBoolean()) return "boolean";
  if (v.IsString()) return "string";
  if (v.IsTypedArray()) return "a typed array";
  if (v.IsArray()) return "an array";
  if (v.IsFunction()) return "a function";
  return "an object";
}

// The typed-array kinds accepted for each dtype (docs/design.md, Data conventions).
bool kind_matches(DType t, napi_typedarray_type k) {
  switch (t) {
    case DType::kFloat32: return k == napi_float32_array;
    case DType::kFloat16:  // Uint16Array bit patterns, or Float16Array where the runtime has one
      return k == napi_uint16_array || k == static_cast<napi_typedarray_type>(11);
    case DType::kBFloat16: return k == napi_uint16_array;
    case DType::kInt8: return k == napi_int8_array;
    case DType::kInt4: return k == napi_uint8_array;
    case DType::kInt32: return k == napi_int32_array;
    case DType::kInt64: return k == napi_bigint64_array;
    case DType::kBool: return k == napi_uint8_array;
  }
  return false;
}

const char* expected_array(DType t) {
  switch (t) {
    case DType::kFloat32: return "Float32Array";
    case DType::kFloat16: return "Uint16Array (or Float16Array)";
    case DType::kBFloat16: return "Uint16Array";
    case DType::kInt8: return "Int8Array";
    case DType::kInt4: return "Uint8Array";
    case DType::kInt32: return "Int32Array";
    case DType::kInt64: return "BigInt64Array";
    case DType::kBool: return "Uint8Array";
  }
  return "typed array";
}

}  // namespace

double get_number(Napi::Env env, Napi::Value v, const char* name) {
  if (!v.IsNumber()) fail(env, Code::kTypeError, std::string("Expected a number for ") + name + " but received " + describe(v));
  return v.As<Napi::Number>().DoubleValue();
}

bool get_bool(Napi::Env env, Napi::Value v, const char* name) {
  if (!v.IsBoolean()) fail(env, Code::kTypeError, std::string("Expected a boolean for ") + name + " but received " + describe(v));
  return v.As<Napi::Boolean>().Value();
}

int32_t get_int(Napi::Env env, Napi::Value v, const char* name, int32_t lo, int32_t hi) {
  int32_t out = 0;
  Status s = int_from_number(get_number(env, v, name), lo, hi, name, &out);
  if (!s.ok()) throw_status(env, s);
  return out;
}

TensorView unwrap_tensor(Napi::Env env, Napi::Value v, const char* name, KeepAlive* keep) {
  std::string n(name);
  if (!v.IsObject() || v.IsArray() || v.IsTypedArray()) {
    fail(env, Code::kTypeError, "Expected a tensor descriptor for " + n + " but received " + describe(v));
  }
  Napi::Object o = v.As<Napi::Object>();
  const Napi::Object keys = addon_data(env).tensor_keys.Value();
  TensorView view;

  int32_t code = get_int(env, o.Get(keys.Get(0u)), (n + ".dtype").c_str(), 0, kNumDTypes - 1);
  DType dtype = static_cast<DType>(code);

  Napi::Value shape_v = o.Get(keys.Get(1u));
  if (!shape_v.IsArray()) fail(env, Code::kTypeError, "Expected an array for " + n + ".shape but received " + describe(shape_v));
  Napi::Array shape = shape_v.As<Napi::Array>();
  // The checks themselves are native/core/tensor_check.cc (no Node-API: the fuzzer runs them too).
  uint32_t ndim = shape.Length();
  double dims[kMaxDims] = {};
  for (uint32_t i = 0; ndim <= static_cast<uint32_t>(kMaxDims) && i < ndim; ++i) {
    Napi::Value d = shape.Get(i);
    if (!d.IsNumber())
      fail(env, Code::kTypeError, "Expected a number for " + n + ".shape[" + std::to_string(i) + "] but received " + describe(d));
    dims[i] = d.As<Napi::Number>().DoubleValue();
  }
  Status s = shape_from_numbers(static_cast<double>(code), dims, ndim, n, &view);
  if (!s.ok()) throw_status(env, s);

  Napi::Value data = o.Get(keys.Get(2u));
  Napi::Value buffer = o.Get(keys.Get(3u));
  bool has_data = !data.IsUndefined() && !data.IsNull();
  bool has_buffer = !buffer.IsUndefined() && !buffer.IsNull();
  if (has_data == has_buffer) {
    fail(env, Code::kTypeError, "Expected exactly one of " + n + ".data (host) or " + n + ".buffer (device)");
  }

  if (has_data) {
    if (!data.IsTypedArray())
      fail(env, Code::kTypeError,
           "Expected a " + std::string(expected_array(dtype)) + " for " + n + ".data but received " + describe(data));
    Napi::TypedArray ta = data.As<Napi::TypedArray>();
    if (!kind_matches(dtype, ta.TypedArrayType())) {
      fail(env, Code::kTypeError,
           "Expected a " + std::string(expected_array(dtype)) + " for " + n + ".data (dtype " + dtype_name(dtype) +
               ") but received another typed array kind");
    }
    void* base = ta.ArrayBuffer().Data();
    Status bs = bind_host_storage(n, base, ta.ByteOffset(), ta.ByteLength(), &view);
    if (!bs.ok()) throw_status(env, bs);
    if (keep) {
      keep->hold(data);
      keep->pin(base);
      keep->add_host_bytes(ta.ByteLength());
    }
  } else {
    DeviceBuffer* db = DeviceBuffer::FromValue(env, buffer);
    if (db == nullptr) fail(env, Code::kTypeError, "Expected a DeviceBuffer for " + n + ".buffer but received " + describe(buffer));
    std::shared_ptr<Allocation> a = db->allocation();
    if (!a) throw_status(env, Status(Code::kDisposed, "Expected a live tensor for " + n + " but it was disposed"));
    Status bs = bind_device_storage(n, a->ptr, a->bytes, a->device, &view);
    if (!bs.ok()) throw_status(env, bs);
    if (keep) keep->hold(a);
  }
  return view;
}

TensorView unwrap_optional_tensor(Napi::Env env, Napi::Value v, const char* name, KeepAlive* keep) {
  if (v.IsUndefined() || v.IsNull()) {
    TensorView none;
    none.ndim = -1;
    return none;
  }
  return unwrap_tensor(env, v, name, keep);
}

}  // namespace tk::napi

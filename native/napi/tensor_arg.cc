#include "tensor_arg.h"

#include <cmath>
#include <string>

#include "../core/tensor_check.h"
#include "errors.h"
#include "params.h"

namespace tk::napi {
namespace {

[[noreturn]] void fail(napi_env env, Code code, const std::string& msg) { throw_status(Napi::Env(env), Status(code, msg)); }

size_t element_bytes(napi_typedarray_type k) {
  switch (k) {
    case napi_int8_array:
    case napi_uint8_array:
    case napi_uint8_clamped_array: return 1;
    case napi_int16_array:
    case napi_uint16_array: return 2;
    case napi_int32_array:
    case napi_uint32_array:
    case napi_float32_array: return 4;
    case napi_float64_array:
    case napi_bigint64_array:
    case napi_biguint64_array: return 8;
    default: return k == static_cast<napi_typedarray_type>(11) ? 2 : 1;  // Float16Array
  }
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
  return unwrap_tensor(env, v, std::string(name), keep);
}

// Raw Node-API calls, each checked: a descriptor costs about ten calls (the wrapper classes made three
// times as many), which is most of what a small op's call costs.
TensorView unwrap_tensor(napi_env env, napi_value v, const std::string& n, KeepAlive* keep) {
  Napi::Env e(env);
  napi_valuetype type = napi_undefined;
  if (napi_typeof(env, v, &type) != napi_ok || type != napi_object) {
    fail(env, Code::kTypeError, "Expected a tensor descriptor for " + n + " but received " + describe(Napi::Value(env, v)));
  }
  auto prop = [&](Key k) {
    napi_value val = nullptr;
    if (napi_get_named_property(env, v, key_name(k), &val) != napi_ok) throw Napi::Error::New(env);  // a throwing getter
    return val;
  };
  TensorView view;
  napi_value dtype_v = prop(Key::dtype);
  double code = 0;
  if (napi_get_value_double(env, dtype_v, &code) != napi_ok) {
    Napi::Value vv(env, v);
    if (vv.IsArray() || vv.IsTypedArray())
      fail(env, Code::kTypeError, "Expected a tensor descriptor for " + n + " but received " + describe(vv));
    fail(env, Code::kTypeError, "Expected a number for " + n + ".dtype but received " + describe(Napi::Value(env, dtype_v)));
  }
  int32_t icode = 0;
  if (code >= 0 && code <= kNumDTypes - 1 && code == std::floor(code)) {  // (NaN fails every comparison)
    icode = static_cast<int32_t>(code);
  } else {  // the name is built only for the message
    Status cs = int_from_number(code, 0, kNumDTypes - 1, n + ".dtype", &icode);
    throw_status(e, cs.ok() ? InvalidArgument("Expected a dtype code for " + n + ".dtype") : cs);
  }
  const DType dtype = static_cast<DType>(icode);

  napi_value shape_v = prop(Key::shape);
  uint32_t ndim = 0;
  if (napi_get_array_length(env, shape_v, &ndim) != napi_ok)  // napi_array_expected for anything but an array
    fail(env, Code::kTypeError, "Expected an array for " + n + ".shape but received " + describe(Napi::Value(env, shape_v)));
  // The checks themselves are native/core/tensor_check.cc (no Node-API: the fuzzer runs them too).
  double dims[kMaxDims] = {};
  for (uint32_t i = 0; ndim <= static_cast<uint32_t>(kMaxDims) && i < ndim; ++i) {
    napi_value d = nullptr;
    if (napi_get_element(env, shape_v, i, &d) != napi_ok) throw Napi::Error::New(env);
    if (napi_get_value_double(env, d, &dims[i]) != napi_ok)
      fail(env, Code::kTypeError,
           "Expected a number for " + n + ".shape[" + std::to_string(i) + "] but received " + describe(Napi::Value(env, d)));
  }
  Status s = shape_from_numbers(static_cast<double>(icode), dims, ndim, n, &view);
  if (!s.ok()) throw_status(e, s);

  napi_value data = prop(Key::data);
  napi_typedarray_type kind = napi_int8_array;
  size_t length = 0, offset = 0;
  void* ptr = nullptr;
  napi_value arraybuffer = nullptr;
  if (napi_get_typedarray_info(env, data, &kind, &length, &ptr, &arraybuffer, &offset) == napi_ok) {
    if (!kind_matches(dtype, kind)) {
      fail(env, Code::kTypeError,
           "Expected a " + std::string(expected_array(dtype)) + " for " + n + ".data (dtype " + dtype_name(dtype) +
               ") but received another typed array kind");
    }
    const size_t bytes = length * element_bytes(kind);
    // ptr is the buffer's data + offset (null once the buffer is detached).
    void* base = ptr == nullptr ? nullptr : static_cast<char*>(ptr) - offset;
    Status bs = bind_host_storage(n, base, offset, bytes, &view);
    if (!bs.ok()) throw_status(e, bs);
    if (keep) {
      keep->hold(data);
      keep->pin(base);
      keep->add_host_bytes(bytes);
    }
    return view;
  }
  Napi::Value data_v(env, data);
  if (!data_v.IsUndefined() && !data_v.IsNull()) {
    fail(env, Code::kTypeError,
         "Expected a " + std::string(expected_array(dtype)) + " for " + n + ".data but received " + describe(data_v));
  }
  Napi::Value buffer(env, prop(Key::buffer));
  if (buffer.IsUndefined() || buffer.IsNull()) {
    fail(env, Code::kTypeError, "Expected exactly one of " + n + ".data (host) or " + n + ".buffer (device)");
  }
  DeviceBuffer* db = DeviceBuffer::FromValue(e, buffer);
  if (db == nullptr) fail(env, Code::kTypeError, "Expected a DeviceBuffer for " + n + ".buffer but received " + describe(buffer));
  std::shared_ptr<Allocation> a = db->allocation();
  if (!a) throw_status(e, Status(Code::kDisposed, "Expected a live tensor for " + n + " but it was disposed"));
  Status bs = bind_device_storage(n, a->ptr, a->bytes, a->device, &view);
  if (!bs.ok()) throw_status(e, bs);
  if (keep) keep->hold(a);
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

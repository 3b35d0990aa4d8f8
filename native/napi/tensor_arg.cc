#include "tensor_arg.h"

#include <cmath>
#include <string>

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

// The typed-array kinds accepted for each dtype (DESIGN.md §5).
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
  double d = get_number(env, v, name);
  if (!(d >= lo && d <= hi) || d != std::floor(d)) {
    fail(env, Code::kOutOfRange, std::string("Expected an integer in [") + std::to_string(lo) + ", " + std::to_string(hi) +
                                     "] for " + name + " but received " + describe(v));
  }
  return static_cast<int32_t>(d);
}

TensorView unwrap_tensor(Napi::Env env, Napi::Value v, const char* name, KeepAlive* keep) {
  std::string n(name);
  if (!v.IsObject() || v.IsArray() || v.IsTypedArray()) {
    fail(env, Code::kTypeError, "Expected a tensor descriptor for " + n + " but received " + describe(v));
  }
  Napi::Object o = v.As<Napi::Object>();
  TensorView view;

  int32_t code = get_int(env, o.Get("dtype"), (n + ".dtype").c_str(), 0, kNumDTypes - 1);
  DType dtype = static_cast<DType>(code);

  Napi::Value shape_v = o.Get("shape");
  if (!shape_v.IsArray()) fail(env, Code::kTypeError, "Expected an array for " + n + ".shape but received " + describe(shape_v));
  Napi::Array shape = shape_v.As<Napi::Array>();
  uint32_t ndim = shape.Length();
  if (ndim > kMaxDims) {
    fail(env, Code::kOutOfRange, "Expected at most " + std::to_string(kMaxDims) + " dimensions for " + n +
                                     ".shape but received " + std::to_string(ndim));
  }
  int64_t dims[kMaxDims];
  for (uint32_t i = 0; i < ndim; ++i) {
    Napi::Value d = shape.Get(i);
    if (!d.IsNumber()) fail(env, Code::kTypeError, "Expected a number for " + n + ".shape[" + std::to_string(i) + "] but received " + describe(d));
    double x = d.As<Napi::Number>().DoubleValue();
    if (!(x >= 0 && x <= 9007199254740991.0) || x != std::floor(x)) {
      fail(env, Code::kOutOfRange, "Expected a non-negative integer for " + n + ".shape[" + std::to_string(i) +
                                       "] but received " + describe(d));
    }
    dims[i] = static_cast<int64_t>(x);
  }
  Status s = make_shape(dtype, dims, static_cast<int>(ndim), &view);
  if (!s.ok()) throw_status(env, Status(s.code(), n + ": " + s.message()));
  size_t need = view.nbytes();

  Napi::Value data = o.Get("data");
  Napi::Value buffer = o.Get("buffer");
  bool has_data = !data.IsUndefined() && !data.IsNull();
  bool has_buffer = !buffer.IsUndefined() && !buffer.IsNull();
  if (has_data == has_buffer) {
    fail(env, Code::kTypeError, "Expected exactly one of " + n + ".data (host) or " + n + ".buffer (device)");
  }

  if (has_data) {
    if (!data.IsTypedArray()) fail(env, Code::kTypeError, "Expected a " + std::string(expected_array(dtype)) + " for " + n + ".data but received " + describe(data));
    Napi::TypedArray ta = data.As<Napi::TypedArray>();
    if (!kind_matches(dtype, ta.TypedArrayType())) {
      fail(env, Code::kTypeError, "Expected a " + std::string(expected_array(dtype)) + " for " + n + ".data (dtype " +
                                      dtype_name(dtype) + ") but received another typed array kind");
    }
    size_t have = ta.ByteLength();
    if (have != need) {
      fail(env, Code::kInvalidArgument, "Expected " + std::to_string(need) + " bytes for " + n + ".data (shape x " +
                                            dtype_name(dtype) + ") but received " + std::to_string(have));
    }
    uint8_t* base = static_cast<uint8_t*>(ta.ArrayBuffer().Data());
    if (base == nullptr && need > 0) fail(env, Code::kInvalidArgument, "Expected an attached ArrayBuffer for " + n + ".data (it was detached)");
    view.data = base == nullptr ? nullptr : base + ta.ByteOffset();
    if (reinterpret_cast<uintptr_t>(view.data) % dtype_align(dtype) != 0) {
      fail(env, Code::kInvalidArgument, "Expected " + n + ".data aligned to " + std::to_string(dtype_align(dtype)) + " bytes");
    }
    view.device = Device::cpu();
    if (keep) keep->hold(data);
  } else {
    DeviceBuffer* db = DeviceBuffer::FromValue(env, buffer);
    if (db == nullptr) fail(env, Code::kTypeError, "Expected a DeviceBuffer for " + n + ".buffer but received " + describe(buffer));
    std::shared_ptr<Allocation> a = db->allocation();
    if (!a) throw_status(env, Status(Code::kDisposed, "Expected a live tensor for " + n + " but it was disposed"));
    if (a->bytes < need) {
      fail(env, Code::kInvalidArgument, "Expected at least " + std::to_string(need) + " bytes for " + n +
                                            ".buffer but it holds " + std::to_string(a->bytes));
    }
    view.data = a->ptr;
    view.device = Device::cuda(a->device);
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

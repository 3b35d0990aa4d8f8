#include "params.h"

#include <cmath>
#include <vector>

#include "../core/tensor_check.h"
#include "errors.h"

namespace tk::napi {
namespace {

const char* const kNames[] = {
#define TK_KEY_NAME(n) #n,
    TK_PARAM_KEYS(TK_KEY_NAME)
#undef TK_KEY_NAME
};
static_assert(sizeof(kNames) / sizeof(kNames[0]) == static_cast<size_t>(Key::kCount), "one name per key");

[[noreturn]] void type_error(napi_env env, const std::string& expected, const std::string& name, napi_value got) {
  throw_status(Napi::Env(env), TypeMismatch("Expected " + expected + " for " + name + " but received " + describe(Napi::Value(env, got))));
}

}  // namespace

const char* key_name(Key k) { return kNames[static_cast<uint32_t>(k)]; }

Params::Params(Napi::Env env, Napi::Value v, const char* what, const char* prefix) : env_(env), obj_(v), prefix_(prefix) {
  napi_valuetype t = napi_undefined;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_object || v.IsArray())
    throw_status(env, TypeMismatch(std::string("Expected an object of ") + what + " but received " + describe(v)));
}

napi_value Params::get(Key k) const {
  napi_value val = nullptr;
  if (napi_get_named_property(env_, obj_, kNames[static_cast<uint32_t>(k)], &val) != napi_ok)
    throw Napi::Error::New(env_);  // a pending JS exception (a throwing getter)
  return val;
}

bool Params::has(Key k) const {
  napi_valuetype t = napi_undefined;
  napi_typeof(env_, get(k), &t);
  return t != napi_undefined && t != napi_null;
}

TensorView Params::tensor(Key k, KeepAlive* keep) const { return unwrap_tensor(env_, get(k), name(k), keep); }

TensorView Params::optional_tensor(Key k, KeepAlive* keep) const {
  napi_value v = get(k);
  napi_valuetype t = napi_undefined;
  napi_typeof(env_, v, &t);
  if (t == napi_undefined || t == napi_null) {
    TensorView none;
    none.ndim = -1;
    return none;
  }
  return unwrap_tensor(env_, v, name(k), keep);
}

double Params::number(Key k) const {
  napi_value v = get(k);
  double d = 0;
  if (napi_get_value_double(env_, v, &d) != napi_ok) type_error(env_, "a number", name(k), v);
  return d;
}

bool Params::boolean(Key k) const {
  napi_value v = get(k);
  bool b = false;
  if (napi_get_value_bool(env_, v, &b) != napi_ok) type_error(env_, "a boolean", name(k), v);
  return b;
}

bool Params::boolean_or(Key k, bool dflt) const {
  napi_value v = get(k);
  bool b = false;
  if (napi_get_value_bool(env_, v, &b) == napi_ok) return b;
  napi_valuetype t = napi_undefined;
  napi_typeof(env_, v, &t);
  if (t == napi_undefined) return dflt;
  type_error(env_, "a boolean", name(k), v);
}

int32_t Params::integer(Key k, int32_t lo, int32_t hi) const {
  int32_t out = 0;
  Status s = int_from_number(number(k), lo, hi, name(k), &out);
  if (!s.ok()) throw_status(env_, s);
  return out;
}

int32_t Params::integer_or(Key k, int32_t lo, int32_t hi, int32_t dflt) const {
  napi_value v = get(k);
  double d = 0;
  if (napi_get_value_double(env_, v, &d) != napi_ok) {
    napi_valuetype t = napi_undefined;
    napi_typeof(env_, v, &t);
    if (t == napi_undefined) return dflt;
    type_error(env_, "a number", name(k), v);
  }
  int32_t out = 0;
  Status s = int_from_number(d, lo, hi, name(k), &out);
  if (!s.ok()) throw_status(env_, s);
  return out;
}

int64_t Params::dim(Key k) const {
  const double d = number(k);
  if (!(d >= 0 && d <= 9007199254740991.0) || d != std::floor(d))
    throw_status(env_, InvalidArgument("Expected a non-negative integer for " + name(k) + " but received " + describe_number(d)));
  return static_cast<int64_t>(d);
}

std::string Params::string(Key k) const {
  napi_value v = get(k);
  size_t len = 0;
  if (napi_get_value_string_utf8(env_, v, nullptr, 0, &len) != napi_ok) type_error(env_, "a string", name(k), v);
  std::vector<char> buf(len + 1);
  napi_get_value_string_utf8(env_, v, buf.data(), buf.size(), &len);
  return std::string(buf.data(), len);
}

Params Params::object(Key k) const {
  napi_value v = get(k);
  napi_valuetype t = napi_undefined;
  bool arr = false;
  if (napi_typeof(env_, v, &t) != napi_ok || t != napi_object || (napi_is_array(env_, v, &arr) == napi_ok && arr))
    type_error(env_, "an object", name(k), v);
  return Params(env_, v, name(k) + ".");
}

}  // namespace tk::napi

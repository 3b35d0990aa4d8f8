// An op's parameters: one JS object, read by name (lib/binding.ts declares each op's params type):
// one napi_get_named_property per property (the name is interned from its C string, which costs less
// than fetching a key made ahead from an array). Every value is checked here: the binding may be
// called directly with anything.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>

#include "../core/tensor_view.h"
#include "tensor_arg.h"

namespace tk::napi {

// Every property name the binding reads (tensor descriptors' and ops' params). Adding an op's
// parameter means adding its name here.
// clang-format off
#define TK_PARAM_KEYS(X)                                                                                       \
  /* tensor descriptors */ X(dtype) X(shape) X(data) X(buffer)                                                  \
  /* gemm */ X(a) X(b) X(c) X(bias) X(out) X(transA) X(transB) X(alpha) X(beta) X(runDevice) X(allowTf32)       \
  X(packed) X(packedLayout) X(dst) X(layout) X(src)                                                            \
  /* spmm */ X(rowPtr) X(colIdx) X(values) X(rows) X(cols) X(kernel) X(devForm) X(perm) X(panelPtr)             \
  X(blockCol) X(blockValues)                                                                                   \
  /* attention */ X(q) X(k) X(v) X(mask) X(kvLengths) X(lse) X(causal) X(bshd) X(scale) X(softcap)             \
  X(causalOffset) X(qkOut) X(qkStage)                                                                          \
  /* linear attention */ X(decay) X(state) X(stateOut)                                                       \
  /* w4a4 */ X(x) X(w) X(scales) X(zeroPoints) X(outlierChannels) X(outlierWeights) X(outlierScales)           \
  X(groupSize) X(rotateBlock) X(actBits) X(xScales) X(bits)                                                    \
  /* monarch */ X(w1) X(w2) X(blocks) X(err)                                                                   \
  /* int8mm */ X(threshold)                                                                                    \
  /* lut */ X(planes) X(N)                                                                                     \
  /* block ops */ X(weight) X(eps) X(positions) X(start) X(theta) X(half) X(gate) X(up) X(table) X(ids)        \
  X(indices) X(cache) X(position) X(seqDim)                                                                    \
  /* bitmm */ X(aFormat) X(bFormat) X(K) X(aScales) X(bScales)
// clang-format on

enum class Key : uint32_t {
#define TK_KEY_ENUM(n) n,
  TK_PARAM_KEYS(TK_KEY_ENUM)
#undef TK_KEY_ENUM
      kCount
};

const char* key_name(Key k);

class Params {
 public:
  // `v` must be an object; `what` names it in the error ("gemm params"), `prefix` is put before
  // each property's name in messages ("devForm." for a nested object).
  Params(Napi::Env env, Napi::Value v, const char* what, const char* prefix = "");

  Napi::Env env() const { return env_; }
  // The property's value (undefined when absent).
  napi_value get(Key k) const;
  // Present: neither undefined nor null.
  bool has(Key k) const;
  std::string name(Key k) const { return std::string(prefix_) + key_name(k); }

  TensorView tensor(Key k, KeepAlive* keep) const;
  // Absent gives a view with data == nullptr and ndim == -1.
  TensorView optional_tensor(Key k, KeepAlive* keep) const;
  double number(Key k) const;
  bool boolean(Key k) const;
  bool boolean_or(Key k, bool dflt) const;
  int32_t integer(Key k, int32_t lo, int32_t hi) const;
  int32_t integer_or(Key k, int32_t lo, int32_t hi, int32_t dflt) const;
  // A whole number in [0, 2^53 - 1] (a dimension).
  int64_t dim(Key k) const;
  std::string string(Key k) const;
  // A nested params object (prefix "<name>.").
  Params object(Key k) const;

 private:
  Params(napi_env env, napi_value obj, std::string prefix) : env_(env), obj_(obj), prefix_(std::move(prefix)) {}
  napi_env env_;
  napi_value obj_;
  std::string prefix_;
};

}  // namespace tk::napi

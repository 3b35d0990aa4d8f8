// The pure part of unwrapping a JS tensor descriptor into a TensorView: everything that decides
// whether a view may be made (dtype code, dims given as JS numbers, overflow of numel and bytes, byte
// length of the storage against shape x dtype, attachment, alignment), with no Node-API in it.
// native/napi/tensor_arg.cc reads the JS values and calls these; fuzz/native/fuzz_tensor_view.cc
// calls the same functions with arbitrary input, so the fuzzer exercises exactly what the addon runs.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "status.h"
#include "tensor_view.h"

namespace tk {

// "number 3.000000": how a JS number is described in messages (as tensor_arg.cc always did).
std::string describe_number(double x);

// An integer in [lo, hi] given as a JS number; else OutOfRange naming `name`.
Status int_from_number(double d, int32_t lo, int32_t hi, const std::string& name, int32_t* out);

// A descriptor's dtype code and shape (JS numbers; `ndim` is the shape array's length, read before
// any element: dims[] is only read when ndim <= kMaxDims) -> view->dtype, ndim, shape, numel.
// Each dim must be an integer in [0, 2^53 - 1]; numel and the byte size must not overflow (make_shape).
// `name` prefixes messages ("a.shape[1]").
Status shape_from_numbers(double dtype_code, const double* dims, size_t ndim, const std::string& name, TensorView* view);

// Host storage for a view made by shape_from_numbers: `byte_length` bytes at `base + byte_offset`
// (an ArrayBufferView). The length must equal view->nbytes() exactly, the buffer must be attached
// (base non-null) unless no byte is needed, and the data aligned to the dtype. Sets data and device.
Status bind_host_storage(const std::string& name, void* base, size_t byte_offset, size_t byte_length, TensorView* view);

// Device storage: an allocation of `bytes` bytes at `ptr` on CUDA device `device` must hold the view.
Status bind_device_storage(const std::string& name, void* ptr, size_t bytes, int device, TensorView* view);

}  // namespace tk

// Status: the only way native code reports failure. No C++ exception and no abort crosses into JS:
// kernels return Status, the napi layer turns it into a JS error with a Node-style code.
#pragma once
#include <exception>
#include <new>
#include <string>
#include <utility>

namespace tk {

enum class Code {
  kOk = 0,
  kTypeError,        // JS TypeError, ERR_INVALID_ARG_TYPE
  kInvalidArgument,  // JS RangeError, ERR_INVALID_ARG_VALUE
  kOutOfRange,       // JS RangeError, ERR_OUT_OF_RANGE
  kOutOfMemory,      // TensorkernError, ERR_TK_OUT_OF_MEMORY
  kNoGpu,            // TensorkernError, ERR_TK_NO_GPU
  kCuda,             // TensorkernError, ERR_TK_CUDA
  kUnsupported,      // TensorkernError, ERR_TK_UNSUPPORTED
  kDisposed,         // TensorkernError, ERR_TK_DISPOSED
  kInternal,         // TensorkernError, ERR_TK_INTERNAL
};

class Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status Ok() { return Status(); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return Status(Code::kInvalidArgument, std::move(m)); }
inline Status TypeMismatch(std::string m) { return Status(Code::kTypeError, std::move(m)); }
inline Status OutOfRange(std::string m) { return Status(Code::kOutOfRange, std::move(m)); }
inline Status OutOfMemory(std::string m) { return Status(Code::kOutOfMemory, std::move(m)); }
inline Status NoGpu(std::string m) { return Status(Code::kNoGpu, std::move(m)); }
inline Status Unsupported(std::string m) { return Status(Code::kUnsupported, std::move(m)); }
inline Status Internal(std::string m) { return Status(Code::kInternal, std::move(m)); }

// Node-style code string for a Code ("ERR_INVALID_ARG_TYPE", "ERR_TK_CUDA", ...).
const char* code_name(Code code);

// Runs `fn` (returning Status) and converts any escaping C++ exception into a Status, so that a
// std::bad_alloc deep in a kernel becomes ERR_TK_OUT_OF_MEMORY instead of std::terminate.
template <class Fn>
Status guarded(Fn&& fn) noexcept {
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    return OutOfMemory("host memory allocation failed");
  } catch (const std::exception& e) {
    return Internal(std::string("unexpected native exception: ") + e.what());
  } catch (...) {
    return Internal("unexpected native exception");
  }
}

}  // namespace tk

#define TK_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::tk::Status tk_status_ = (expr);        \
    if (!tk_status_.ok()) return tk_status_; \
  } while (0)

// Status -> JS error objects. Argument errors become TypeError/RangeError, runtime failures plain
// Errors; each carries a Node-style `code`. lib/errors.ts re-wraps the latter as TensorkernError with
// the caller's stack.
#pragma once
#include <napi.h>

#include "../core/status.h"

namespace tk::napi {

Napi::Error make_error(Napi::Env env, const Status& s);
[[noreturn]] void throw_status(Napi::Env env, const Status& s);

// Wraps a binding function so that no C++ exception escapes into V8: Napi::Error is rethrown as
// the JS error it carries, anything else becomes ERR_TK_INTERNAL / ERR_TK_OUT_OF_MEMORY.
template <Napi::Value (*Fn)(const Napi::CallbackInfo&)>
Napi::Value guard(const Napi::CallbackInfo& info) {
  try {
    return Fn(info);
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw make_error(info.Env(), OutOfMemory("host memory allocation failed"));
  } catch (const std::exception& e) {
    throw make_error(info.Env(), Internal(std::string("unexpected native exception: ") + e.what()));
  } catch (...) {
    throw make_error(info.Env(), Internal("unexpected native exception"));
  }
}

}  // namespace tk::napi

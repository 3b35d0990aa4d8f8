#include "errors.h"

namespace tk::napi {

Napi::Error make_error(Napi::Env env, const Status& s) {
  Napi::Error err;
  switch (s.code()) {
    case Code::kTypeError: err = Napi::TypeError::New(env, s.message()); break;
    case Code::kInvalidArgument:
    case Code::kOutOfRange: err = Napi::RangeError::New(env, s.message()); break;
    default: err = Napi::Error::New(env, s.message()); break;
  }
  err.Set("code", Napi::String::New(env, code_name(s.code())));
  return err;
}

void throw_status(Napi::Env env, const Status& s) { throw make_error(env, s); }

}  // namespace tk::napi

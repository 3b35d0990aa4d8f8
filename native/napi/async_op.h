// The one way ops run: run_op(info, async, keep, work). While an op graph is recording (graph.h),
// the work is stored in the graph instead of run.
//   async = true:  `work` runs on the libuv thread pool, the call returns a Promise that resolves to
//                  undefined or rejects with the Status's error. Execute() never touches napi.
//   async = false: `work` runs on the calling thread; failure throws.
// `work` is a callable returning tk::Status. The KeepAlive (JS typed arrays and device allocations the
// op reads or writes) lives until the op has finished and its Promise settled.
#pragma once
#include <napi.h>

#include <string>
#include <utility>

#include "../core/status.h"
#include "../core/thread_pool.h"
#include "errors.h"
#include "graph.h"
#include "tensor_arg.h"

namespace tk::napi {

// Async ops whose host tensors hold at least this many bytes run on a low-priority thread
// (run_in_background): past about a millisecond of work the extra thread wake-up is lost in the noise.
constexpr size_t kBackgroundBytes = size_t(1) << 20;

template <class Work>
class OpWorker final : public Napi::AsyncWorker {
 public:
  OpWorker(Napi::Env env, const char* name, KeepAlive keep, Work work)
      : Napi::AsyncWorker(env, name), deferred_(Napi::Promise::Deferred::New(env)), keep_(std::move(keep)), work_(std::move(work)) {
    keep_.persist(env);
  }

  Napi::Promise promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    OpScope op;
    if (keep_.host_bytes() >= kBackgroundBytes) {
      // Large work runs below the JavaScript thread's priority (native/core/thread_pool.h); the
      // hop costs a thread wake-up, which small ops skip.
      status_ = run_in_background([&] { return work_(); });
    } else {
      status_ = guarded([&] { return work_(); });
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (status_.ok()) {
      deferred_.Resolve(env.Undefined());
    } else {
      deferred_.Reject(make_error(env, status_).Value());
    }
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  KeepAlive keep_;
  Work work_;
  Status status_;
};

template <class Work>
Napi::Value run_op(Napi::Env env, const char* name, bool async, KeepAlive keep, Work work) {
  if (Graph* g = Graph::recording(env)) {
    if (async) throw_status(env, InvalidArgument("Expected the Sync form of an op inside recordGraph (an awaited op is not recorded)"));
    g->add(env, name, std::move(keep), std::move(work));
    return env.Undefined();
  }
  if (!async) {
    OpScope op;
    Status s = guarded([&] { return work(); });
    if (!s.ok()) throw_status(env, s);
    return env.Undefined();
  }
  auto* w = new OpWorker<Work>(env, name, std::move(keep), std::move(work));
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

}  // namespace tk::napi

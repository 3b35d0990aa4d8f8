#include "graph.h"

#include <chrono>

#include "../core/thread_pool.h"
#include "addon_data.h"
#include "async_op.h"
#include "errors.h"
#include "register.h"

namespace tk::napi {
namespace {

// An awaited replay whose last run took less than this runs inline on the calling thread and
// returns a settled Promise. The hop to a libuv worker and back (a thread wake-up each way, the
// completion callback) costs 30-50 us on the 2-core VM measured; under about five times that it
// would be more than a fifth of the step (a tiny model's whole decode step is ~70 us), and holding
// the event loop that long is no worse than the sync form, which holds it for the same work.
constexpr int64_t kInlineNs = 200'000;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Runs the steps under one op scope, timed.
Status run_timed(Graph* g, bool background, int64_t* ns) {
  const int64_t t0 = now_ns();
  Status s;
  {
    OpScope op;
    s = background ? run_in_background([g] { return g->run_steps(); }) : guarded([g] { return g->run_steps(); });
  }
  *ns = now_ns() - t0;
  return s;
}

class GraphWorker final : public Napi::AsyncWorker {
 public:
  GraphWorker(Napi::Env env, Graph* g, Napi::Object self)
      : Napi::AsyncWorker(env, "tensorkern:graph"),
        deferred_(Napi::Promise::Deferred::New(env)),
        graph_(g),
        self_(Napi::Persistent(self)) {}
  Napi::Promise promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override { status_ = run_timed(graph_, graph_->host_bytes() >= kBackgroundBytes, &ns_); }
  void OnOK() override { settle(); }
  void OnError(const Napi::Error&) override { settle(); }

 private:
  void settle() {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    graph_->finish_run(ns_);
    if (status_.ok()) {
      deferred_.Resolve(env.Undefined());
    } else {
      deferred_.Reject(make_error(env, status_).Value());
    }
  }
  Napi::Promise::Deferred deferred_;
  Graph* graph_;
  Napi::ObjectReference self_;  // the graph stays alive while it runs
  Status status_;
  int64_t ns_ = 0;
};

// graphBegin(graph) / graphEnd(): route run_op into `graph` for the ops called in between.
Napi::Value GraphBegin(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AddonData& d = addon_data(env);
  if (d.recording != nullptr) throw_status(env, InvalidArgument("Expected no op graph recording already (recordGraph does not nest)"));
  Napi::Value v = info[0];
  const bool ok = v.IsObject() && v.As<Napi::Object>().InstanceOf(d.graph_ctor.Value());
  Graph* g = ok ? Graph::Unwrap(v.As<Napi::Object>()) : nullptr;
  if (g == nullptr) throw_status(env, TypeMismatch("Expected a native Graph for graph"));
  d.recording = g;
  return env.Undefined();
}

Napi::Value GraphEnd(const Napi::CallbackInfo& info) {
  addon_data(info.Env()).recording = nullptr;
  return info.Env().Undefined();
}

}  // namespace

Napi::Function Graph::Init(Napi::Env env) {
  return DefineClass(
      env, "Graph",
      {InstanceMethod<&Graph::Run>("run"), InstanceMethod<&Graph::Dispose>("dispose"), InstanceAccessor<&Graph::Length>("length"),
       InstanceAccessor<&Graph::Names>("names"), InstanceAccessor<&Graph::LastRunNs>("lastRunNs")});
}

Graph::Graph(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Graph>(info) {}

Graph* Graph::recording(Napi::Env env) { return addon_data(env).recording; }

void Graph::throw_busy(Napi::Env env) {
  throw_status(env, InvalidArgument("Expected an op graph that is not running (await the replay in flight first)"));
}

void Graph::note_buffers(Napi::Env, const KeepAlive& keep) {
  for (const Napi::ObjectReference& r : keep.arrays()) {
    Napi::ArrayBuffer ab = r.Value().As<Napi::TypedArray>().ArrayBuffer();
    void* base = ab.Data();
    bool seen = false;
    for (void* b : buffer_bases_) seen = seen || b == base;
    if (seen) continue;
    buffer_bases_.push_back(base);
    buffers_.push_back(Napi::Persistent(ab));
  }
}

Status Graph::check_live(Napi::Env) {
  for (size_t i = 0; i < buffers_.size(); ++i) {
    Napi::ArrayBuffer ab = buffers_[i].Value();
    if (ab.IsDetached() || ab.Data() != buffer_bases_[i]) {
      return Status(Code::kDisposed,
                    "Expected every tensor the op graph uses to be live, but one was disposed (or its buffer transferred) after recording");
    }
  }
  return Status::Ok();
}

Status Graph::run_steps() {
  for (size_t i = 0; i < steps_.size(); ++i) {
    Status s = steps_[i]->run();
    if (!s.ok()) return Status(s.code(), "op graph step " + std::to_string(i) + " (" + steps_[i]->name + "): " + s.message());
  }
  return Status::Ok();
}

// run(async): replays every step; async resolves a Promise (inline when the graph is cheaper than a hop).
Napi::Value Graph::Run(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const bool async = get_bool(env, info[0], "async");
  if (recording(env) == this)
    throw_status(env, InvalidArgument("Expected a finished recording (an op graph cannot replay inside its own recordGraph)"));
  if (running_.exchange(true)) throw_busy(env);
  Status live = check_live(env);
  if (!live.ok()) {
    running_.store(false);
    throw_status(env, live);
  }
  const int64_t last = last_ns_.load();
  if (async && !(last >= 0 && last < kInlineNs)) {
    auto* w = new GraphWorker(env, this, Value());
    Napi::Promise p = w->promise();
    w->Queue();
    return p;
  }
  int64_t ns = 0;
  Status s = run_timed(this, false, &ns);
  finish_run(ns);
  if (!async) {
    if (!s.ok()) throw_status(env, s);
    return env.Undefined();
  }
  Napi::Promise::Deferred d = Napi::Promise::Deferred::New(env);
  if (s.ok()) {
    d.Resolve(env.Undefined());
  } else {
    d.Reject(make_error(env, s).Value());
  }
  return d.Promise();
}

Napi::Value Graph::Length(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(steps_.size())); }

Napi::Value Graph::Names(const Napi::CallbackInfo& info) {
  Napi::Array a = Napi::Array::New(info.Env(), steps_.size());
  for (size_t i = 0; i < steps_.size(); ++i) a.Set(static_cast<uint32_t>(i), steps_[i]->name);
  return a;
}

Napi::Value Graph::LastRunNs(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(last_ns_.load())); }

// dispose(): drops the steps and what they held (a no-op when already empty).
Napi::Value Graph::Dispose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (running_.load()) throw_busy(env);
  if (recording(env) == this) addon_data(env).recording = nullptr;
  steps_.clear();
  keeps_.clear();
  buffers_.clear();
  buffer_bases_.clear();
  host_bytes_ = 0;
  return env.Undefined();
}

void register_graph(Napi::Env env, const Exports& e) {
  Napi::Function ctor = Graph::Init(env);
  addon_data(env).graph_ctor = Napi::Persistent(ctor);
  e.runtime.Set("Graph", ctor);
  set_fn<GraphBegin>(env, e.runtime, "graphBegin");
  set_fn<GraphEnd>(env, e.runtime, "graphEnd");
}

}  // namespace tk::napi

// Op graphs: a sequence of ops recorded once and replayed by one native call.
//
// Recording: while a Graph is the environment's recording target (graphBegin / graphEnd, set by
// lib/graph.ts around each Sync op called inside recordGraph), run_op stores the op's closure -- the
// work it would have run, with every argument already unwrapped and validated -- instead of running
// it. Replay runs the closures in order: no argument is unwrapped again and nothing is allocated on
// the JavaScript side. Tensor *contents* are read when a step runs, so a replay sees whatever the
// caller wrote into the bound tensors (a position, a token id) since the last one; the ops that read
// indices from tensors range-check them inside their closures on every run.
//
// Memory safety: the graph keeps every array and device allocation its steps touch (their
// KeepAlives), pins pooled host blocks, and before each replay checks that no bound ArrayBuffer was
// detached (a disposed pooled tensor, a transferred buffer): then nothing runs and the replay fails
// with ERR_TK_DISPOSED.
#pragma once
#include <napi.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "../core/status.h"
#include "tensor_arg.h"

namespace tk::napi {

struct GraphStep {
  explicit GraphStep(const char* n) : name(n) {}
  virtual ~GraphStep() = default;
  virtual Status run() = 0;
  const char* name;
};

template <class Work>
struct WorkStep final : GraphStep {
  WorkStep(const char* n, Work w) : GraphStep(n), work(std::move(w)) {}
  Status run() override { return work(); }
  Work work;
};

class Graph : public Napi::ObjectWrap<Graph> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit Graph(const Napi::CallbackInfo& info);

  // The graph run_op records into, or null (per environment).
  static Graph* recording(Napi::Env env);

  template <class Work>
  void add(Napi::Env env, const char* name, KeepAlive keep, Work work) {
    if (running_.load()) throw_busy(env);
    keep.persist(env);
    note_buffers(env, keep);
    host_bytes_ += keep.host_bytes();
    keeps_.push_back(std::move(keep));
    steps_.push_back(std::make_unique<WorkStep<Work>>(name, std::move(work)));
  }

  // Every step in order (any thread); the first failure stops the replay and names its step.
  Status run_steps();
  size_t host_bytes() const { return host_bytes_; }
  void finish_run(int64_t ns) {
    last_ns_.store(ns);
    running_.store(false);
  }

 private:
  Napi::Value Run(const Napi::CallbackInfo& info);
  Napi::Value Length(const Napi::CallbackInfo& info);
  Napi::Value Names(const Napi::CallbackInfo& info);
  Napi::Value LastRunNs(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  void note_buffers(Napi::Env env, const KeepAlive& keep);
  Status check_live(Napi::Env env);
  [[noreturn]] void throw_busy(Napi::Env env);

  std::vector<std::unique_ptr<GraphStep>> steps_;
  std::vector<KeepAlive> keeps_;
  // One reference per distinct ArrayBuffer the steps use (many weights share one file buffer).
  std::vector<Napi::Reference<Napi::ArrayBuffer>> buffers_;
  std::vector<void*> buffer_bases_;
  size_t host_bytes_ = 0;
  std::atomic<bool> running_{false};
  std::atomic<int64_t> last_ns_{-1};
};

}  // namespace tk::napi

// The process-wide CPU compute pool. One per process (shared by every worker_thread that loads the
// addon): concurrent ops queue on it instead of oversubscribing the cores.
//
//   parallel_run(fn): fn(tid, nthreads) on nthreads threads; the calling thread is tid 0.
//   parallel_for(n, grain, fn): fn(begin, end) over [0, n) in chunks of at least `grain`.
//
// Regions are serialized: a second op waits until the first one's region ends. A region started from
// inside a region runs inline on the calling thread (nthreads = 1). An exception thrown by fn on any
// thread is caught and returned as a Status; nothing escapes into the pool threads.
#pragma once
#include <cstdint>
#include <functional>

#include "status.h"

namespace tk {

// Threads the next region will use (>= 1); 1 inside a region or a SerialScope.
int num_threads();
// Sets the thread count for later regions; n <= 0 restores the default (TENSORKERN_NUM_THREADS or the
// number of physical cores available to the process). Safe while regions run: they keep their count.
void set_num_threads(int n);
// The count used when none was set.
int default_num_threads();

// Runs `work` on a thread below the JavaScript thread's priority (the calling thread's own runner,
// made on first use) and waits for it: async ops large enough to matter run there, so that a timer
// or an I/O callback on the JavaScript thread gets a core at once while every core computes. With
// TENSORKERN_POOL_NICE=0 (or no thread to be had) `work` runs on the calling thread.
Status run_in_background(const std::function<Status()>& work);

// Marks an op running (its scope): the pool's workers spin between regions only while one is.
class OpScope {
 public:
  OpScope();
  ~OpScope();
  OpScope(const OpScope&) = delete;
  OpScope& operator=(const OpScope&) = delete;
};

// While alive (and `on`), regions started on this thread run inline on it: ops whose work is too
// small to repay waking the pool's threads (a few microseconds) open one, so that a tiny op never
// gets slower with more threads.
class SerialScope {
 public:
  explicit SerialScope(bool on);
  ~SerialScope();
  SerialScope(const SerialScope&) = delete;
  SerialScope& operator=(const SerialScope&) = delete;

 private:
  bool set_ = false;
};

// Work (floating-point operations, or element visits for memory-bound ops) below which an op runs
// on one thread.
constexpr double kSerialWork = double(1 << 18);

Status parallel_run(const std::function<void(int tid, int nthreads)>& fn);
Status parallel_run(int max_threads, const std::function<void(int tid, int nthreads)>& fn);

// Static partition of [0, n) into contiguous ranges, one per thread, each at least `grain` long.
Status parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t begin, int64_t end)>& fn);

}  // namespace tk

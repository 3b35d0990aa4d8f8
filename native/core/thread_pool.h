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
#include <utility>

#include "status.h"

namespace tk {

// One step of a spin-wait: the pause (x86) or yield (AArch64) hint to the core.
inline void cpu_relax() {
#if defined(__x86_64__) || defined(_M_X64)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

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

// A region on the pool (parallel_run's general case).
Status parallel_run_pool(int max_threads, const std::function<void(int tid, int nthreads)>& fn);

// fn(tid, nthreads) on up to max_threads threads, the calling thread being tid 0. A region that would
// get one thread (max_threads <= 1, one thread set, or inside a region or SerialScope) runs fn(0, 1)
// right here, as a serial scope: no std::function, no pool lock -- most of what a tiny op's call cost.
// An exception from fn becomes the returned Status either way.
template <class Fn>
Status parallel_run(int max_threads, Fn&& fn) {
  if (max_threads <= 1 || num_threads() <= 1) {
    SerialScope serial(true);
    return guarded([&] {
      fn(0, 1);
      return Status::Ok();
    });
  }
  return parallel_run_pool(max_threads, fn);
}

template <class Fn>
Status parallel_run(Fn&& fn) {
  return parallel_run(1 << 30, std::forward<Fn>(fn));
}

// Static partition of [0, n) into contiguous ranges, one per thread, each at least `grain` long.
template <class Fn>
Status parallel_for(int64_t n, int64_t grain, Fn&& fn) {
  if (n <= 0) return Status::Ok();
  grain = grain < 1 ? 1 : grain;
  const int64_t max_chunks = (n + grain - 1) / grain;
  const int cap = static_cast<int>(max_chunks < (int64_t(1) << 30) ? max_chunks : (int64_t(1) << 30));
  return parallel_run(cap, [&](int tid, int nt) {
    const int64_t begin = n * tid / nt, end = n * (tid + 1) / nt;
    if (begin < end) fn(begin, end);
  });
}

}  // namespace tk

#include "thread_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <cerrno>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "cpu_features.h"

namespace tk {
namespace {

thread_local bool t_in_region = false;
std::atomic<int> g_ops_running{0};  // OpScope
// When the last op ended (steady clock, ns): a region's workers keep spinning for kLingerNs after
// it, so that the next op of a back-to-back series (a decode step is dozens of small ops, each a
// JavaScript call away from the last) finds them awake instead of paying a wake-up. Measured on the
// 2-core Zen 5 VM: the second thread of a 0.15-0.3 ms decode call joined about 25 us late, a sixth
// of the call.
std::atomic<int64_t> g_last_op_end_ns{0};
constexpr int64_t kLingerNs = 200000;
int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Spin briefly before sleeping: an op is a series of parallel regions a few hundred microseconds to
// milliseconds apart, and waking a sleeping thread costs tens to hundreds of microseconds (more in a
// VM, where the vCPU halts). Bounded, so an idle process does not burn a core. No spinning when a
// process has more pool threads than the machine has hardware threads: a spinning thread would then
// hold the core that the thread it waits for needs (setNumThreads(8) on 2 cores made each region cost
// about a millisecond instead of tens of microseconds).
constexpr int kSpinIters = 1 << 14;
int hardware_threads() {
  static const int n = std::max(1u, std::thread::hardware_concurrency());
  return n;
}

// Pool workers (and the runners of large async ops) run below the process's own priority, so that
// the thread running JavaScript, and V8's collector threads, get a core as soon as they wake while
// every core computes. Measured on 2 busy cores (Zen 5-class VM, Linux 6.18, HZ 250; large async
// gemm / spmm / attention / w4a4 calls in a loop, a 1 ms timer chain; five runs each):
//   compute at the process's priority:                  p99 gap 4.2-5.0 ms, longest 8.5-15 ms
//   nice +5 and a 20 ms EEVDF slice (Linux >= 6.12):    p99 2.0-3.6 ms, longest 6-13 ms
//   nice +10, the slice, SCHED_BATCH:                   p99 1.8-2.2 ms, longest 5-11 ms
//   SCHED_IDLE:                                         p99 1.7-2.4 ms, longest 7-9 ms, but any other
//                                                       busy process would starve the pool
// (a task with a shorter slice preempts on wakeup; SCHED_BATCH tasks never preempt on wakeup). Nice
// +10 still shares the CPU with other processes (about a tenth of a core against each busy one).
// TENSORKERN_POOL_NICE sets the increment (0 to 19; 0 = the process's priority, policy and slice,
// and async ops stay on the libuv thread). Linux only: elsewhere setpriority would change the whole
// process.
constexpr int kDefaultPoolNice = 10;
constexpr uint64_t kWorkerSliceNs = 20000000;

int pool_nice() {
  const char* e = std::getenv("TENSORKERN_POOL_NICE");
  if (e == nullptr || *e == '\0') return kDefaultPoolNice;
  char* end = nullptr;
  long v = std::strtol(e, &end, 10);
  if (end == e || *end != '\0' || v < 0 || v > 19) return kDefaultPoolNice;  // lib/ validates and warns
  return static_cast<int>(v);
}

#if defined(__linux__)
// The nice of the thread that loaded the library (the JavaScript thread), read at load: threads made
// by a pool thread inherit its lowered priority, and the increment must not compound.
int read_nice() {
  errno = 0;
  const int n = getpriority(PRIO_PROCESS, 0);  // on Linux PRIO_PROCESS 0 is the calling thread
  return errno != 0 ? 0 : n;
}
const int g_base_nice = read_nice();
#endif

void lower_this_thread_priority() {
#if defined(__linux__)
  const int inc = pool_nice();
  if (inc <= 0) return;
  const int nice = std::min(19, g_base_nice + inc);  // raising nice needs no privilege
#if defined(SYS_sched_setattr)
  // struct sched_attr (linux/sched/types.h), version 1: SCHED_BATCH at `nice` with a long slice.
  struct {
    uint32_t size, policy;
    uint64_t flags;
    int32_t nice;
    uint32_t priority;
    uint64_t runtime, deadline, period;
    uint32_t util_min, util_max;
  } attr{};
  attr.size = sizeof(attr);
  attr.policy = 3;  // SCHED_BATCH: CPU-bound, no wakeup preemption of others
  attr.nice = nice;
  attr.runtime = kWorkerSliceNs;  // the EEVDF slice request (Linux >= 6.12; ignored before)
  if (syscall(SYS_sched_setattr, 0, &attr, 0) == 0) return;
#endif
  setpriority(PRIO_PROCESS, 0, nice);
#endif
}

class Pool {
 public:
  int desired() const { return desired_.load(std::memory_order_relaxed); }
  void set_desired(int n) { desired_.store(n, std::memory_order_relaxed); }

  Status run(int max_threads, const std::function<void(int, int)>& fn) {
    if (t_in_region) return run_inline(fn);
    std::lock_guard<std::mutex> region(region_mutex_);  // concurrent ops queue here
    int nt = std::max(1, std::min(desired(), max_threads));
    nt = std::min(nt, 1 + ensure_workers(nt - 1));
    if (nt <= 1) return run_inline(fn);

    // A region's workers spin briefly for the next one when its threads all have a core; workers
    // it did not need sleep at once (a spinning thread would hold a core another needs).
    const int spin = nt <= hardware_threads() ? kSpinIters : 0;
    spin_.store(spin, std::memory_order_relaxed);
    job_.store(&fn, std::memory_order_relaxed);
    pending_.store(nt - 1, std::memory_order_relaxed);
    error_ = nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex_);  // pairs with sleeping workers' predicate check
      const uint64_t g = (state_.load(std::memory_order_relaxed) >> kGenShift) + 1;
      state_.store(g << kGenShift | static_cast<uint64_t>(nt), std::memory_order_release);
    }
    wake_.notify_all();

    t_in_region = true;
    execute(fn, 0, nt);
    t_in_region = false;

    for (int i = 0; i < spin && pending_.load(std::memory_order_acquire) != 0; ++i) cpu_relax();
    if (pending_.load(std::memory_order_acquire) != 0) {
      std::unique_lock<std::mutex> lock(mutex_);
      done_.wait(lock, [&] { return pending_.load(std::memory_order_acquire) == 0; });
    }
    std::exception_ptr err;
    {
      std::lock_guard<std::mutex> lock(error_mutex_);
      err = error_;
      error_ = nullptr;
    }
    return err ? rethrow_as_status(err) : Status::Ok();
  }

 private:
  Status run_inline(const std::function<void(int, int)>& fn) {
    bool outer = !t_in_region;
    t_in_region = true;
    Status s = guarded([&] {
      fn(0, 1);
      return Status::Ok();
    });
    if (outer) t_in_region = false;
    return s;
  }

  void execute(const std::function<void(int, int)>& fn, int tid, int nt) {
    try {
      fn(tid, nt);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex_);
      if (!error_) error_ = std::current_exception();
    }
  }

  static Status rethrow_as_status(std::exception_ptr err) {
    return guarded([&]() -> Status { std::rethrow_exception(err); });
  }

  // Starts workers until `n` exist; returns how many exist (thread creation can fail).
  int ensure_workers(int n) {
    while (static_cast<int>(workers_.size()) < n) {
      int id = static_cast<int>(workers_.size()) + 1;
      // The generation before the region being started: the new worker must not skip it.
      const uint64_t seen = state_.load(std::memory_order_acquire) >> kGenShift;
      try {
        workers_.emplace_back([this, id, seen] { worker_loop(id, seen); });
        workers_.back().detach();  // the pool lives for the whole process
      } catch (...) {
        break;
      }
    }
    return static_cast<int>(workers_.size());
  }

  void worker_loop(int id, uint64_t seen) {
    t_in_region = true;  // anything a worker runs is inside a region
    lower_this_thread_priority();
    bool took_part = false;  // in the last region: only its threads spin for the next one
    for (;;) {
      uint64_t st = state_.load(std::memory_order_acquire);
      const int spin = took_part ? spin_.load(std::memory_order_relaxed) : 0;
      // Spin while an op is running, and for kLingerNs after the last one ended (bounded by `spin`
      // iterations either way; only when the region's threads all had a core).
      for (int i = 0; i < spin && (st >> kGenShift) == seen; ++i) {
        if (g_ops_running.load(std::memory_order_relaxed) == 0 && (i & 63) == 0 &&
            now_ns() - g_last_op_end_ns.load(std::memory_order_relaxed) > kLingerNs)
          break;
        cpu_relax();
        st = state_.load(std::memory_order_acquire);
      }
      if ((st >> kGenShift) == seen) {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return (state_.load(std::memory_order_acquire) >> kGenShift) != seen; });
        st = state_.load(std::memory_order_acquire);
      }
      // One load gives the generation and its thread count together. A worker it needs (id < nt)
      // holds that region open until it reports, so job_ is still that region's job when read.
      // Regions this worker missed needed none of it (they could not end without it).
      seen = st >> kGenShift;
      const int nt = static_cast<int>(st & kThreadsMask);
      took_part = id < nt;
      if (!took_part) continue;
      execute(*job_.load(std::memory_order_relaxed), id, nt);
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lock(mutex_);
        done_.notify_one();
      }
    }
  }

  // state_ = generation << kGenShift | thread count of that generation's region, published in one
  // store: a worker reading the two apart could pair one region's generation with the next one's
  // count, run the next region's job twice and count it down twice (a region that ended early,
  // its std::function read after its caller returned, then a lost wake-up and a hang).
  static constexpr int kGenShift = 16;
  static constexpr uint64_t kThreadsMask = (uint64_t(1) << kGenShift) - 1;  // set_num_threads caps at 4096

  std::atomic<int> desired_{1};
  std::mutex region_mutex_;
  std::mutex mutex_, error_mutex_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  std::atomic<const std::function<void(int, int)>*> job_{nullptr};
  std::atomic<int> pending_{0};
  std::atomic<int> spin_{kSpinIters};
  std::atomic<uint64_t> state_{0};
  std::exception_ptr error_;
};

int env_threads() {
  const char* s = std::getenv("TENSORKERN_NUM_THREADS");
  if (s == nullptr || *s == '\0') return 0;
  char* end = nullptr;
  long v = std::strtol(s, &end, 10);
  if (end == s || *end != '\0' || v <= 0 || v > 4096) return 0;  // lib/ validates and warns
  return static_cast<int>(v);
}

Pool& pool() {
  // Never destroyed: detached workers may still be waiting on it at process exit.
  static Pool* p = [] {
    auto* q = new Pool();
    q->set_desired(default_num_threads());
    return q;
  }();
  return *p;
}

}  // namespace

// A low-priority thread that runs whole async ops for one calling thread (a libuv thread), which
// waits for it: the op's serial parts and its share of every parallel region then run below the
// JavaScript thread, like the pool's workers.
class Runner {
 public:
  Runner() : thread_([this] { loop(); }) { thread_.detach(); }

  Status run(const std::function<Status()>& work) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      work_ = &work;
      done_ = false;
    }
    cv_.notify_one();
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return done_; });
    return status_;
  }

 private:
  void loop() {
    lower_this_thread_priority();
    for (;;) {
      const std::function<Status()>* w;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return work_ != nullptr; });
        w = work_;
      }
      Status s = guarded([&] { return (*w)(); });
      {
        std::lock_guard<std::mutex> lock(mu_);
        status_ = std::move(s);
        work_ = nullptr;
        done_ = true;
      }
      cv_.notify_one();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  const std::function<Status()>* work_ = nullptr;
  bool done_ = false;
  Status status_;
  std::thread thread_;
};

OpScope::OpScope() { g_ops_running.fetch_add(1, std::memory_order_relaxed); }
OpScope::~OpScope() {
  g_last_op_end_ns.store(now_ns(), std::memory_order_relaxed);
  g_ops_running.fetch_sub(1, std::memory_order_relaxed);
}

Status run_in_background(const std::function<Status()>& work) {
  if (pool_nice() <= 0) return guarded([&] { return work(); });
  // One runner per calling thread, made on its first use and kept (the process-wide pool's
  // lifetime): a libuv thread pool has a handful of threads.
  thread_local Runner* runner = []() -> Runner* {
    try {
      return new Runner();
    } catch (...) {
      return nullptr;  // no thread: run here
    }
  }();
  if (runner == nullptr) return guarded([&] { return work(); });
  return runner->run(work);
}

int default_num_threads() {
  int env = env_threads();
  if (env > 0) return env;
  return std::max(1, cpu_topology().physical_cores);
}

int num_threads() { return t_in_region ? 1 : pool().desired(); }

SerialScope::SerialScope(bool on) : set_(on && !t_in_region) {
  if (set_) t_in_region = true;
}

SerialScope::~SerialScope() {
  if (set_) t_in_region = false;
}

void set_num_threads(int n) { pool().set_desired(n > 0 ? std::min(n, 4096) : default_num_threads()); }

Status parallel_run_pool(int max_threads, const std::function<void(int, int)>& fn) { return pool().run(std::max(1, max_threads), fn); }

}  // namespace tk

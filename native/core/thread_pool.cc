#include "thread_pool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cpu_features.h"

namespace tk {
namespace {

thread_local bool t_in_region = false;

// Spin briefly before sleeping: an op is a series of parallel regions a few hundred microseconds to
// milliseconds apart, and waking a sleeping thread costs tens to hundreds of microseconds (more in a
// VM, where the vCPU halts). Bounded, so an idle process does not burn a core. No spinning when a
// process has more pool threads than the machine has hardware threads: a spinning thread would then
// hold the core that the thread it waits for needs (setNumThreads(8) on 2 cores made each region cost
// about a millisecond instead of tens of microseconds).
inline void cpu_relax() {
#if defined(__x86_64__) || defined(_M_X64)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}
constexpr int kSpinIters = 1 << 14;
int hardware_threads() {
  static const int n = std::max(1u, std::thread::hardware_concurrency());
  return n;
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
    if (nt == 1) return run_inline(fn);

    // Every worker spins between regions, needed or not: spin only if they all have a core.
    const int spin = static_cast<int>(workers_.size()) + 1 <= hardware_threads() ? kSpinIters : 0;
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
    for (;;) {
      uint64_t st = state_.load(std::memory_order_acquire);
      const int spin = spin_.load(std::memory_order_relaxed);
      for (int i = 0; i < spin && (st >> kGenShift) == seen; ++i) {
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
      if (id >= nt) continue;
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

int default_num_threads() {
  int env = env_threads();
  if (env > 0) return env;
  return std::max(1, cpu_topology().physical_cores);
}

int num_threads() { return pool().desired(); }

void set_num_threads(int n) { pool().set_desired(n > 0 ? std::min(n, 4096) : default_num_threads()); }

Status parallel_run(const std::function<void(int, int)>& fn) { return pool().run(1 << 30, fn); }

Status parallel_run(int max_threads, const std::function<void(int, int)>& fn) {
  return pool().run(std::max(1, max_threads), fn);
}

Status parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return Status::Ok();
  grain = std::max<int64_t>(1, grain);
  int64_t max_chunks = (n + grain - 1) / grain;
  int cap = static_cast<int>(std::min<int64_t>(max_chunks, 1 << 30));
  return parallel_run(cap, [&](int tid, int nt) {
    int64_t begin = n * tid / nt, end = n * (tid + 1) / nt;
    if (begin < end) fn(begin, end);
  });
}

}  // namespace tk

// The CPU thread pool under stress: many short regions whose thread counts change from one region to
// the next, more threads than cores. Every thread of a region must run its part exactly once with the
// region's own count, no thread may run a region it is not part of, and no region may hang (a
// watchdog ends the process with a failure instead). Found by CI: a worker could pair one region's
// generation with the next one's thread count, run that region twice and count it down twice, which
// ended the region early (its job then read after its caller returned) and later lost a wake-up.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "../core/thread_pool.h"
#include "gemm_cuda_checks.h"  // Ctx

namespace thread_pool_checks {

// One region; its counters live on this frame, so a worker still running it after it returned
// would write into the next region's frame (or trip ASan's stack-use-after-return).
__attribute__((noinline)) inline bool one_region(int max_threads, int* threads, std::atomic<long>* runs) {
  int count[16] = {0}, seen[16] = {0};
  tk::Status s = tk::parallel_run(max_threads, [&](int tid, int nt) {
    if (tid < 16) {
      count[tid] += 1;
      seen[tid] = nt;
    }
    runs->fetch_add(1, std::memory_order_relaxed);
  });
  const int nt = seen[0];
  *threads = nt;
  if (!s.ok() || nt < 1 || nt > max_threads) return false;
  for (int t = 0; t < 16; ++t)
    if (t < nt ? count[t] != 1 || seen[t] != nt : count[t] != 0) return false;
  return true;
}

inline void run(gemm_cuda_checks::Ctx c, long regions_per_count) {
  const int before = tk::num_threads();
  std::atomic<long> progress{0};
  std::atomic<bool> finished{false};
  std::thread watchdog([&] {
    long last = -1;
    int still = 0;
    while (!finished.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      const long p = progress.load();
      still = p == last ? still + 1 : 0;
      last = p;
      if (still >= 300) {  // 30 s without a region finishing
        std::printf("FAIL thread pool: a region hung (after %ld regions)\n", p);
        std::fflush(stdout);
        std::_Exit(1);
      }
    }
  });
  for (int threads : {3, 4, 8}) {
    tk::set_num_threads(threads);
    std::atomic<long> runs{0};
    long expected = 0, bad = 0;
    for (long r = 0; r < regions_per_count; ++r) {
      int nt = 0;
      // Counts that change each region: 1..threads, in an order that is not a plain cycle.
      if (!one_region(1 + int((r * 7 + r / 5) % threads), &nt, &runs)) ++bad;
      expected += nt;
      progress.fetch_add(1);
    }
    c.expect(bad == 0 && runs.load() == expected, "thread pool with " + std::to_string(threads) + " threads: " + std::to_string(bad) +
                                                      " regions ran wrong, " + std::to_string(runs.load()) + " parts run for " +
                                                      std::to_string(expected));
  }
  finished.store(true);
  watchdog.join();
  tk::set_num_threads(before);
}

}  // namespace thread_pool_checks

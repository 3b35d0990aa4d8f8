// The warm host pool (native/core/host_pool.h) without Node: size classes, reuse of a released block
// (same memory, contents kept), the cap on idle bytes (least recently used evicted first), trim,
// PooledBuffer for small and large sizes, and many threads acquiring and releasing at once (each
// block held by one thread at a time: a thread writes its id over its block and checks it is intact).
#pragma once
#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "../core/host_pool.h"
#include "gemm_cuda_checks.h"  // Ctx

namespace host_pool_checks {

inline void run(const gemm_cuda_checks::Ctx& ctx) {
  auto check = [&](bool ok, const std::string& what) {
    ++*ctx.checks;
    if (!ok) ctx.fail("host pool: " + what);
  };
  // Classes: page multiples, four per power of two above 16 pages, never below the request.
  size_t prev = 0;
  for (size_t b : {size_t(1), size_t(4096), size_t(4097), size_t(65536), size_t(65537), size_t(100000), size_t(1) << 20,
                   (size_t(1) << 20) + 1, size_t(3) << 20, size_t(1) << 30}) {
    const size_t c = tk::host_pool_class_bytes(b);
    check(c >= b && c % 4096 == 0 && c >= prev, "class of " + std::to_string(b) + " is " + std::to_string(c));
    check(b <= 65536 || c <= b + b / 4 + 4096, "class of " + std::to_string(b) + " wastes at most a quarter");
    prev = c;
  }
  const uint64_t limit0 = tk::host_pool_stats().limit_bytes;
  tk::host_pool_set_limit(uint64_t(64) << 20);
  tk::host_pool_trim();

  // A released block comes back for the next request of its class, contents as left.
  tk::HostBlock* a = tk::host_acquire(300000);
  check(a != nullptr && tk::host_block_bytes(a) >= 300000, "acquire 300000");
  std::memset(tk::host_block_data(a), 0x5a, 300000);
  void* pa = tk::host_block_data(a);
  tk::HostPoolStats s0 = tk::host_pool_stats();
  tk::host_release(a);
  check(tk::host_pool_stats().cached_bytes == s0.cached_bytes + tk::host_pool_class_bytes(300000), "a released block is cached");
  tk::HostBlock* b = tk::host_acquire(290000);  // same class
  check(b != nullptr && tk::host_block_data(b) == pa, "the next request of that class reuses the block");
  check(static_cast<unsigned char*>(tk::host_block_data(b))[299999] == 0x5a, "reuse keeps the contents (nothing zeroes them)");
  check(tk::host_pool_stats().hits == s0.hits + 1, "the reuse counts as a hit");
  tk::host_release(b);

  // Past the cap, the least recently used idle blocks go back to the OS.
  tk::host_pool_set_limit(uint64_t(3) << 20);
  std::vector<tk::HostBlock*> v;
  for (int i = 0; i < 5; ++i) v.push_back(tk::host_acquire(size_t(1) << 20));
  for (tk::HostBlock* x : v) tk::host_release(x);
  tk::HostPoolStats s1 = tk::host_pool_stats();
  check(s1.cached_bytes <= (uint64_t(3) << 20), "idle bytes stay within the cap (" + std::to_string(s1.cached_bytes) + ")");
  check(s1.evicted_bytes >= (uint64_t(2) << 20), "blocks past the cap were evicted");
  tk::HostBlock* huge = tk::host_acquire(size_t(8) << 20);  // bigger than the cap: not cached on release
  check(huge != nullptr && (reinterpret_cast<uintptr_t>(tk::host_block_data(huge)) & ((uintptr_t(2) << 20) - 1)) == 0,
        "blocks of 2 MiB and more are 2 MiB aligned (whole huge pages)");
  const uint64_t ev = tk::host_pool_stats().evicted_bytes;
  tk::host_release(huge);
  check(tk::host_pool_stats().evicted_bytes >= ev + (uint64_t(8) << 20), "a block larger than the cap goes straight back");
  tk::host_pool_trim();
  check(tk::host_pool_stats().cached_bytes == 0, "trim empties the cache");
  check(tk::host_acquire_cached(size_t(1) << 20) == nullptr, "acquire_cached finds nothing after trim");

  // PooledBuffer: 0 bytes is nothing, small sizes from the heap, large from the pool; 64-byte aligned.
  {
    tk::PooledBuffer z(0), sm(100), lg(size_t(1) << 20);
    check(z.data() == nullptr, "PooledBuffer(0) holds nothing");
    check(sm.data() != nullptr && (reinterpret_cast<uintptr_t>(sm.data()) & 63) == 0, "small PooledBuffer is 64-byte aligned");
    check(lg.data() != nullptr && (reinterpret_cast<uintptr_t>(lg.data()) & 4095) == 0, "large PooledBuffer is page aligned");
    std::memset(lg.data(), 1, size_t(1) << 20);
    tk::PooledBuffer moved(std::move(lg));
    check(lg.data() == nullptr && moved.data() != nullptr, "PooledBuffer moves");
  }

  // Many threads at once: a block is never held by two of them.
  tk::host_pool_set_limit(uint64_t(64) << 20);
  std::atomic<int> bad{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 8; ++t) {
    ts.emplace_back([t, &bad] {
      for (int i = 0; i < 300; ++i) {
        const size_t bytes = size_t(65536) << ((i + t) % 5);
        tk::HostBlock* x = tk::host_acquire(bytes);
        if (x == nullptr) {
          bad++;
          continue;
        }
        uint32_t* p = static_cast<uint32_t*>(tk::host_block_data(x));
        const size_t n = bytes / 4;
        for (size_t k = 0; k < n; k += 512) p[k] = uint32_t(t * 1000003 + i);
        std::this_thread::yield();
        for (size_t k = 0; k < n; k += 512)
          if (p[k] != uint32_t(t * 1000003 + i)) {
            bad++;
            break;
          }
        tk::host_release(x);
      }
    });
  }
  for (auto& th : ts) th.join();
  check(bad.load() == 0, "8 threads acquiring and releasing: no block shared (" + std::to_string(bad.load()) + " bad)");
  check(tk::host_pool_stats().in_use_blocks == 0, "every block came back");
  tk::host_pool_trim();
  tk::host_pool_set_limit(limit0);
}

}  // namespace host_pool_checks

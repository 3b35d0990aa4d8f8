// Warm host memory: a process-wide cache of page-aligned blocks that ops' outputs (through the
// binding: lib/tensor.ts) and large per-call workspaces are taken from and given back to.
//
// Why: on today's cloud VMs the first touch of a fresh 4 KiB page costs ~10 us, and two threads
// faulting at once serialize; a 2 MiB output freshly allocated for every call cost 4x the op itself
// (SpMM 8192^2 at 1%, N = 64). A block given back keeps its pages mapped, so the next call of that
// size writes memory that is already there. Blocks of 2 MiB and more are 2 MiB aligned and advised
// for transparent huge pages (one fault per 2 MiB where the kernel allows it).
//
// Sizes are rounded up to size classes (four per power of two, page multiples); a request is served
// from its own class only. Idle blocks are capped in total (host_pool_set_limit; the default is 1/16
// of physical memory, at least 64 MiB and at most 1 GiB; TENSORKERN_HOST_CACHE_MB sets it): past the
// cap the least recently used idle blocks are unmapped, and blocks idle for more than 30 s are
// unmapped on the next acquire or release. Thread-safe; blocks may be released on any thread.
#pragma once
#include <cstddef>
#include <cstdint>

namespace tk {

struct HostBlock;

// A block of at least `bytes` (contents undefined), or nullptr when the memory cannot be had.
HostBlock* host_acquire(size_t bytes);
// The same from the cache only: nullptr (and no miss counted) when no idle block of that class is there.
HostBlock* host_acquire_cached(size_t bytes);
// Gives a block back to the cache (or to the OS past the cap). Null is ignored.
void host_release(HostBlock* b);
void* host_block_data(const HostBlock* b);
size_t host_block_bytes(const HostBlock* b);  // the usable size (the class size)

struct HostPoolStats {
  uint64_t limit_bytes = 0;   // cap on idle (cached) bytes
  uint64_t cached_bytes = 0;  // idle blocks, mapped, ready for reuse
  uint64_t in_use_bytes = 0;  // blocks lent out now
  uint64_t cached_blocks = 0, in_use_blocks = 0;
  uint64_t hits = 0, misses = 0;  // acquires served from the cache / by mapping new memory
  uint64_t evicted_bytes = 0;     // given back to the OS (cap, idle decay, trim)
};
HostPoolStats host_pool_stats();
// Sets the cap on idle bytes (0 = cache nothing); evicts down to it now.
void host_pool_set_limit(uint64_t bytes);
uint64_t host_pool_default_limit();
// Gives every idle block back to the OS.
void host_pool_trim();
// The size class a request of `bytes` is served from.
size_t host_pool_class_bytes(size_t bytes);

// Scratch for one call, 64-byte aligned, held for the scope: a pooled block from kPooledScratchMin
// bytes up (warm memory), the C heap below (which reuses small blocks itself); none for 0 bytes
// (data() is null). Throws std::bad_alloc
// when the memory cannot be had.
constexpr size_t kPooledScratchMin = size_t(64) << 10;
class PooledBuffer {
 public:
  PooledBuffer() = default;
  explicit PooledBuffer(size_t bytes);
  ~PooledBuffer() { reset(); }
  PooledBuffer(const PooledBuffer&) = delete;
  PooledBuffer& operator=(const PooledBuffer&) = delete;
  PooledBuffer(PooledBuffer&& o) noexcept : b_(o.b_), small_(o.small_) { o.b_ = nullptr, o.small_ = nullptr; }
  PooledBuffer& operator=(PooledBuffer&& o) noexcept;
  void* data() const { return b_ ? host_block_data(b_) : small_; }
  template <class T>
  T* as() const {
    return static_cast<T*>(data());
  }

 private:
  void reset();
  HostBlock* b_ = nullptr;
  void* small_ = nullptr;
};

}  // namespace tk

#include "host_pool.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <sys/mman.h>
#include <unistd.h>
#define TK_HOST_POOL_MMAP 1
#endif

namespace tk {

struct HostBlock {
  void* data = nullptr;  // the mapping (2 MiB aligned where huge), exactly `bytes` long
  size_t bytes = 0;      // the class size
  int64_t idle_since_ms = 0;
  // Idle blocks are on two lists: their class's (most recent first) and the pool's LRU (oldest first).
  HostBlock *cls_prev = nullptr, *cls_next = nullptr;
  HostBlock *lru_prev = nullptr, *lru_next = nullptr;
};

namespace {

constexpr size_t kHuge = size_t(2) << 20;
constexpr int64_t kDecayMs = 30000;  // idle blocks older than this go back to the OS
constexpr int64_t kSweepEveryMs = 1000;

size_t page_bytes() {
#if TK_HOST_POOL_MMAP
  static const size_t p = [] {
    long v = sysconf(_SC_PAGESIZE);
    return v > 0 ? static_cast<size_t>(v) : size_t(4096);
  }();
  return p;
#else
  return 4096;
#endif
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

uint64_t physical_memory() {
#if TK_HOST_POOL_MMAP && defined(_SC_PHYS_PAGES)
  long pages = sysconf(_SC_PHYS_PAGES);
  if (pages > 0) return static_cast<uint64_t>(pages) * page_bytes();
#endif
  return uint64_t(4) << 30;
}

uint64_t limit_from_env(uint64_t dflt) {
  // lib/ warns about a bad value; here it is only ignored.
  const char* e = std::getenv("TENSORKERN_HOST_CACHE_MB");
  if (e == nullptr || *e == '\0') return dflt;
  char* end = nullptr;
  unsigned long long mb = std::strtoull(e, &end, 10);
  if (end == e || *end != '\0' || e[0] == '-' || mb > (1ull << 30)) return dflt;
  return static_cast<uint64_t>(mb) << 20;
}

// Maps a block of `bytes` (a class size). Returns false when the OS says no.
bool map_block(HostBlock* b, size_t bytes) {
#if TK_HOST_POOL_MMAP
  const bool huge = bytes >= kHuge;
  const size_t want = huge ? bytes + kHuge : bytes;
  void* p = mmap(nullptr, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return false;
  char* base = static_cast<char*>(p);
  if (huge) {  // trim to a 2 MiB aligned start so whole huge pages fit
    char* aligned = reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(base) + kHuge - 1) & ~(uintptr_t(kHuge) - 1));
    const size_t head = static_cast<size_t>(aligned - base), tail = want - head - bytes;
    if (head) munmap(base, head);
    if (tail) munmap(aligned + bytes, tail);
    base = aligned;
#if defined(MADV_HUGEPAGE)
    madvise(base, bytes, MADV_HUGEPAGE);  // advice only: ignored where THP is off
#endif
  }
  b->data = base;
#else
  void* p = std::aligned_alloc(4096, bytes);
  if (p == nullptr) return false;
  b->data = p;
#endif
  b->bytes = bytes;
  return true;
}

void unmap_block(HostBlock* b) {
#if TK_HOST_POOL_MMAP
  munmap(b->data, b->bytes);
#else
  std::free(b->data);
#endif
  delete b;
}

class Pool {
 public:
  Pool() : limit_(limit_from_env(host_pool_default_limit())) {}

  HostBlock* acquire(size_t bytes, bool cached_only) {
    const size_t cls = host_pool_class_bytes(bytes);
    std::vector<HostBlock*> victims;
    HostBlock* b = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      sweep_locked(now_ms(), &victims);
      auto it = heads_.find(cls);
      if (it != heads_.end() && it->second != nullptr) {
        b = it->second;
        unlink_locked(b);
        cached_ -= b->bytes;
        --cached_blocks_;
        ++hits_;
        in_use_ += b->bytes;
        ++in_use_blocks_;
      } else if (!cached_only) {
        ++misses_;
      }
    }
    unmap_all(victims);
    if (b != nullptr || cached_only) return b;
    b = new (std::nothrow) HostBlock();
    if (b == nullptr) return nullptr;
    if (!map_block(b, cls)) {
      delete b;
      return nullptr;
    }
    std::lock_guard<std::mutex> lock(mu_);
    in_use_ += b->bytes;
    ++in_use_blocks_;
    return b;
  }

  void release(HostBlock* b) {
    std::vector<HostBlock*> victims;
    {
      std::lock_guard<std::mutex> lock(mu_);
      in_use_ -= b->bytes;
      --in_use_blocks_;
      const int64_t now = now_ms();
      if (b->bytes > limit_) {
        victims.push_back(b);
        evicted_ += b->bytes;
      } else {
        b->idle_since_ms = now;
        link_locked(b);
        cached_ += b->bytes;
        ++cached_blocks_;
        evict_to_locked(limit_, &victims);
      }
      sweep_locked(now, &victims);
    }
    unmap_all(victims);
  }

  HostPoolStats stats() {
    std::lock_guard<std::mutex> lock(mu_);
    HostPoolStats s;
    s.limit_bytes = limit_;
    s.cached_bytes = cached_;
    s.in_use_bytes = in_use_;
    s.cached_blocks = cached_blocks_;
    s.in_use_blocks = in_use_blocks_;
    s.hits = hits_;
    s.misses = misses_;
    s.evicted_bytes = evicted_;
    return s;
  }

  void set_limit(uint64_t bytes) {
    std::vector<HostBlock*> victims;
    {
      std::lock_guard<std::mutex> lock(mu_);
      limit_ = bytes;
      evict_to_locked(limit_, &victims);
    }
    unmap_all(victims);
  }

  void trim() {
    std::vector<HostBlock*> victims;
    {
      std::lock_guard<std::mutex> lock(mu_);
      evict_to_locked(0, &victims);
    }
    unmap_all(victims);
  }

 private:
  void link_locked(HostBlock* b) {
    HostBlock*& head = heads_[b->bytes];
    b->cls_prev = nullptr;
    b->cls_next = head;
    if (head) head->cls_prev = b;
    head = b;
    b->lru_next = nullptr;
    b->lru_prev = lru_tail_;
    if (lru_tail_)
      lru_tail_->lru_next = b;
    else
      lru_head_ = b;
    lru_tail_ = b;
  }

  void unlink_locked(HostBlock* b) {
    if (b->cls_prev)
      b->cls_prev->cls_next = b->cls_next;
    else
      heads_[b->bytes] = b->cls_next;
    if (b->cls_next) b->cls_next->cls_prev = b->cls_prev;
    if (b->lru_prev)
      b->lru_prev->lru_next = b->lru_next;
    else
      lru_head_ = b->lru_next;
    if (b->lru_next)
      b->lru_next->lru_prev = b->lru_prev;
    else
      lru_tail_ = b->lru_prev;
    b->cls_prev = b->cls_next = b->lru_prev = b->lru_next = nullptr;
  }

  void evict_locked(HostBlock* b, std::vector<HostBlock*>* victims) {
    unlink_locked(b);
    cached_ -= b->bytes;
    --cached_blocks_;
    evicted_ += b->bytes;
    victims->push_back(b);
  }

  void evict_to_locked(uint64_t cap, std::vector<HostBlock*>* victims) {
    while (cached_ > cap && lru_head_ != nullptr) evict_locked(lru_head_, victims);
  }

  void sweep_locked(int64_t now, std::vector<HostBlock*>* victims) {
    if (now - last_sweep_ms_ < kSweepEveryMs) return;
    last_sweep_ms_ = now;
    while (lru_head_ != nullptr && now - lru_head_->idle_since_ms > kDecayMs) evict_locked(lru_head_, victims);
  }

  static void unmap_all(const std::vector<HostBlock*>& v) {
    for (HostBlock* b : v) unmap_block(b);  // outside the lock: munmap can take a while
  }

  std::mutex mu_;
  std::unordered_map<size_t, HostBlock*> heads_;
  HostBlock *lru_head_ = nullptr, *lru_tail_ = nullptr;
  uint64_t limit_;
  uint64_t cached_ = 0, in_use_ = 0, cached_blocks_ = 0, in_use_blocks_ = 0;
  uint64_t hits_ = 0, misses_ = 0, evicted_ = 0;
  int64_t last_sweep_ms_ = 0;
};

// Never destroyed: blocks may still be released by threads and finalizers running at exit.
Pool& pool() {
  static Pool* p = new Pool();
  return *p;
}

}  // namespace

size_t host_pool_class_bytes(size_t bytes) {
  const size_t page = page_bytes();
  size_t p = std::max(page, (bytes + page - 1) / page * page);
  if (p <= 16 * page) return p;
  int k = 63 - __builtin_clzll(static_cast<unsigned long long>(p));
  const size_t step = size_t(1) << (k - 2);  // four classes per power of two
  return (p + step - 1) / step * step;
}

uint64_t host_pool_default_limit() {
  const uint64_t sixteenth = physical_memory() / 16;
  return std::min<uint64_t>(uint64_t(1) << 30, std::max<uint64_t>(uint64_t(64) << 20, sixteenth));
}

HostBlock* host_acquire(size_t bytes) { return pool().acquire(bytes, false); }
HostBlock* host_acquire_cached(size_t bytes) { return pool().acquire(bytes, true); }
void host_release(HostBlock* b) {
  if (b != nullptr) pool().release(b);
}
void* host_block_data(const HostBlock* b) { return b->data; }
size_t host_block_bytes(const HostBlock* b) { return b->bytes; }
HostPoolStats host_pool_stats() { return pool().stats(); }
void host_pool_set_limit(uint64_t bytes) { pool().set_limit(bytes); }
void host_pool_trim() { pool().trim(); }

PooledBuffer::PooledBuffer(size_t bytes) {
  if (bytes == 0) return;
  if (bytes >= kPooledScratchMin) {
    b_ = host_acquire(bytes);
    if (b_ == nullptr) throw std::bad_alloc();
  } else {
    small_ = std::aligned_alloc(64, std::max<size_t>(64, (bytes + 63) & ~size_t(63)));
    if (small_ == nullptr) throw std::bad_alloc();
  }
}

void PooledBuffer::reset() {
  host_release(b_);
  std::free(small_);
  b_ = nullptr;
  small_ = nullptr;
}

PooledBuffer& PooledBuffer::operator=(PooledBuffer&& o) noexcept {
  if (this != &o) {
    reset();
    b_ = o.b_;
    small_ = o.small_;
    o.b_ = nullptr;
    o.small_ = nullptr;
  }
  return *this;
}

}  // namespace tk

// The binding of the warm host pool: hostAlloc / hostRelease (lib/tensor.ts), and the cache
// settings and statistics behind hostMemoryStats() / setHostCacheLimit() / trimHostCache().
//
// How a lent block comes back:
//  - dispose(): hostRelease detaches the ArrayBuffer (no view can reach the memory any more) and the
//    block goes back at once, or when the last op pinning it finishes.
//  - the garbage collector: Node calls an external buffer's finalizer only on a later turn of the
//    event loop, so a synchronous loop of ops would never see its blocks again (and would map fresh
//    memory for every call). Each block therefore also has a weak reference to its ArrayBuffer, which
//    V8 clears during the collection itself: when a request finds no idle block of its size class, the
//    blocks of that class whose buffers the collector has found dead are taken back first. This is
//    sound because nothing else can hold the memory: Node will not transfer these buffers
//    (postMessage / structuredClone copy or refuse them), and lib/host-memory.ts gives them a copying
//    transfer() on runtimes that have ArrayBuffer.prototype.transfer (which would move the memory).
//    The finalizer, when it comes, then only frees the record.
#include "host_memory.h"

#include <atomic>
#include <cmath>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "../core/host_pool.h"
#include "errors.h"
#include "register.h"

namespace tk::napi {

// One pooled block lent to JS. refs = 1 while its ArrayBuffer owns it (until the buffer is collected,
// found dead, or detached by a dispose) + one per pin. The block goes back to the pool when refs
// reaches 0; the record itself lives until Node has called the buffer's finalizer too.
struct HostLease {
  HostBlock* block = nullptr;
  void* data = nullptr;
  size_t cls = 0;
  int refs = 1;
  bool js_dropped = false;
  bool finalized = false;
  napi_env env = nullptr;  // while listed in its environment's live leases
  napi_ref weak = nullptr;
  size_t slot = 0;  // index in that list
};

namespace {

// The leases whose ArrayBuffer is alive (as far as we know), per environment and size class.
struct EnvLeases {
  std::unordered_map<size_t, std::vector<HostLease*>> by_class;
};

std::mutex g_mu;
std::unordered_map<void*, HostLease*> g_live;  // by data pointer: leases whose ArrayBuffer owns them
std::atomic<size_t> g_live_count{0};
std::unordered_map<napi_env, EnvLeases*> g_envs;
std::atomic<bool> g_external_refused{false};  // the runtime forbids external buffers (V8 sandbox)
std::atomic<uint64_t> g_reclaimed{0};         // blocks taken back from buffers found dead

constexpr size_t kMaxScan = 1024;  // live leases checked per request that found its class empty

struct RefToDelete {
  napi_env env;
  napi_ref ref;
};

void unlist_locked(HostLease* l, std::vector<RefToDelete>* refs) {
  if (l->env == nullptr) return;
  auto e = g_envs.find(l->env);
  if (e != g_envs.end()) {
    std::vector<HostLease*>& v = e->second->by_class[l->cls];
    if (l->slot < v.size() && v[l->slot] == l) {
      v[l->slot] = v.back();
      v[l->slot]->slot = l->slot;
      v.pop_back();
    }
  }
  if (l->weak != nullptr) refs->push_back({l->env, l->weak});
  l->weak = nullptr;
  l->env = nullptr;
}

// Drops the ArrayBuffer's share. Under g_mu.
void drop_js_locked(HostLease* l, std::vector<RefToDelete>* refs) {
  if (l->js_dropped) return;
  l->js_dropped = true;
  auto it = g_live.find(l->data);
  if (it != g_live.end() && it->second == l) {
    g_live.erase(it);
    g_live_count.fetch_sub(1, std::memory_order_relaxed);
  }
  unlist_locked(l, refs);
  --l->refs;
}

// With no refs left: the block to give back (released by the caller outside the lock), and the
// record deleted once finalized. Under g_mu.
HostBlock* settle_locked(HostLease* l) {
  if (l->refs != 0) return nullptr;
  HostBlock* b = l->block;
  l->block = nullptr;
  if (l->finalized) delete l;
  return b;
}

void delete_refs(const std::vector<RefToDelete>& refs) {
  for (const RefToDelete& r : refs) napi_delete_reference(r.env, r.ref);
}

void finalize(napi_env, void*, void* hint) {
  auto* l = static_cast<HostLease*>(hint);
  HostBlock* b;
  std::vector<RefToDelete> refs;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    l->finalized = true;
    drop_js_locked(l, &refs);
    b = settle_locked(l);
  }
  delete_refs(refs);
  host_release(b);
}

// Environment teardown (a worker_thread exiting): forget its weak references while they are valid.
void env_cleanup(void* arg) {
  auto env = static_cast<napi_env>(arg);
  std::vector<RefToDelete> refs;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    auto e = g_envs.find(env);
    if (e == g_envs.end()) return;
    for (auto& [cls, v] : e->second->by_class) {
      for (HostLease* l : v) {
        if (l->weak != nullptr) refs.push_back({env, l->weak});
        l->weak = nullptr;
        l->env = nullptr;
      }
    }
    delete e->second;
    g_envs.erase(e);
  }
  delete_refs(refs);
}

EnvLeases* env_leases_locked(napi_env env) {
  auto e = g_envs.find(env);
  if (e != g_envs.end()) return e->second;
  auto* s = new EnvLeases();
  g_envs.emplace(env, s);
  napi_add_env_cleanup_hook(env, env_cleanup, env);
  return s;
}

// Takes back the blocks of class `cls` whose ArrayBuffers the collector has found dead (their weak
// references are empty). Returns how many.
size_t reclaim_dead(napi_env env, size_t cls) {
  std::vector<HostBlock*> blocks;
  std::vector<RefToDelete> refs;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    auto e = g_envs.find(env);
    if (e == g_envs.end()) return 0;
    auto c = e->second->by_class.find(cls);
    if (c == e->second->by_class.end()) return 0;
    std::vector<HostLease*>& v = c->second;
    size_t scanned = 0;
    for (size_t i = 0; i < v.size() && scanned < kMaxScan; ++scanned) {
      HostLease* l = v[i];
      napi_value value = nullptr;
      if (napi_get_reference_value(env, l->weak, &value) == napi_ok && value == nullptr) {
        drop_js_locked(l, &refs);  // swaps the last lease into slot i
        if (HostBlock* b = settle_locked(l)) blocks.push_back(b);
      } else {
        ++i;
      }
    }
  }
  delete_refs(refs);
  for (HostBlock* b : blocks) host_release(b);
  g_reclaimed.fetch_add(blocks.size(), std::memory_order_relaxed);
  return blocks.size();
}

double get_bytes(Napi::Env env, Napi::Value v, const char* name) {
  if (!v.IsNumber()) throw_status(env, Status(Code::kTypeError, std::string("Expected a number for ") + name));
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d > 9007199254740991.0 || std::floor(d) != d) {
    throw_status(env, Status(Code::kOutOfRange, std::string("Expected a byte count (an integer from 0 to 2^53 - 1) for ") + name));
  }
  return d;
}

// hostAlloc(bytes, warmOnly): an ArrayBuffer of exactly `bytes` over a pooled block (contents
// undefined), or a plain zeroed ArrayBuffer where the runtime refuses external memory. With warmOnly,
// undefined instead of mapping fresh memory (lib/ may then nudge the collector and ask again).
Napi::Value HostAlloc(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const double d = get_bytes(env, info[0], "bytes");
  const bool warm_only = info.Length() > 1 && info[1].IsBoolean() && info[1].As<Napi::Boolean>().Value();
  const size_t bytes = static_cast<size_t>(d);
  if (bytes == 0 || g_external_refused.load(std::memory_order_relaxed)) return Napi::ArrayBuffer::New(env, bytes);
  const size_t cls = host_pool_class_bytes(bytes);
  HostBlock* b = host_acquire_cached(bytes);
  if (b == nullptr && reclaim_dead(env, cls) > 0) b = host_acquire_cached(bytes);
  if (b == nullptr && warm_only) return env.Undefined();
  if (b == nullptr) b = host_acquire(bytes);
  if (b == nullptr) throw_status(env, OutOfMemory("cannot allocate " + std::to_string(bytes) + " bytes of host memory"));
  auto* l = new HostLease();
  l->block = b;
  l->data = host_block_data(b);
  l->cls = cls;
  napi_value ab;
  napi_status st = napi_create_external_arraybuffer(env, l->data, bytes, finalize, l, &ab);
  if (st != napi_ok) {
    if (env.IsExceptionPending()) env.GetAndClearPendingException();
    if (st == napi_no_external_buffers_allowed) {
      // Runtimes with V8's sandbox (Electron) forbid external buffers (refused before anything was
      // made): use V8's own memory from now on.
      host_release(b);
      delete l;
      g_external_refused.store(true, std::memory_order_relaxed);
    }
    // Other failures (a length past Node's Buffer limit: lib/ never asks for one) may already have
    // handed the block to the finalizer, which Node then calls: leave the lease to it.
    return Napi::ArrayBuffer::New(env, bytes);
  }
  napi_ref weak = nullptr;
  if (napi_create_reference(env, ab, 0, &weak) != napi_ok) weak = nullptr;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    g_live[l->data] = l;
    g_live_count.fetch_add(1, std::memory_order_relaxed);
    if (weak != nullptr) {
      std::vector<HostLease*>& v = env_leases_locked(env)->by_class[cls];
      l->env = env;
      l->weak = weak;
      l->slot = v.size();
      v.push_back(l);
    }
  }
  return Napi::Value(env, ab);
}

// hostRelease(arrayBuffer): gives a pooled buffer's block back now (detaching the buffer). False when
// the buffer is not pooled memory or is detached already.
Napi::Value HostRelease(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArrayBuffer()) throw_status(env, Status(Code::kTypeError, "Expected an ArrayBuffer for buffer"));
  Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
  bool detached = false;
  if (napi_is_detached_arraybuffer(env, ab, &detached) != napi_ok || detached) return Napi::Boolean::New(env, false);
  if (g_live_count.load(std::memory_order_relaxed) == 0) return Napi::Boolean::New(env, false);
  HostLease* l;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    auto it = g_live.find(ab.Data());
    if (it == g_live.end()) return Napi::Boolean::New(env, false);
    l = it->second;
    ++l->refs;  // held across the detach, whatever Node does with the finalizer meanwhile
  }
  const bool ok = napi_detach_arraybuffer(env, ab) == napi_ok;
  if (!ok && env.IsExceptionPending()) env.GetAndClearPendingException();
  HostBlock* b;
  std::vector<RefToDelete> refs;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    if (ok) drop_js_locked(l, &refs);
    --l->refs;
    b = settle_locked(l);
  }
  delete_refs(refs);
  host_release(b);
  return Napi::Boolean::New(env, ok);
}

Napi::Value HostPoolStatsFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const HostPoolStats s = host_pool_stats();
  Napi::Object o = Napi::Object::New(env);
  o.Set("limit", static_cast<double>(s.limit_bytes));
  o.Set("cached", static_cast<double>(s.cached_bytes));
  o.Set("inUse", static_cast<double>(s.in_use_bytes));
  o.Set("cachedBlocks", static_cast<double>(s.cached_blocks));
  o.Set("inUseBlocks", static_cast<double>(s.in_use_blocks));
  o.Set("hits", static_cast<double>(s.hits));
  o.Set("misses", static_cast<double>(s.misses));
  o.Set("evicted", static_cast<double>(s.evicted_bytes));
  o.Set("reclaimed", static_cast<double>(g_reclaimed.load(std::memory_order_relaxed)));
  o.Set("pooled", !g_external_refused.load(std::memory_order_relaxed));
  return o;
}

Napi::Value HostPoolSetLimit(const Napi::CallbackInfo& info) {
  host_pool_set_limit(static_cast<uint64_t>(get_bytes(info.Env(), info[0], "bytes")));
  return info.Env().Undefined();
}

Napi::Value HostPoolTrim(const Napi::CallbackInfo& info) {
  host_pool_trim();
  return info.Env().Undefined();
}

// hostReclaim(bytes): takes back now the blocks of that size class whose outputs the collector has
// found dead (after lib/ nudged it); returns how many.
Napi::Value HostReclaim(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const size_t bytes = static_cast<size_t>(get_bytes(env, info[0], "bytes"));
  return Napi::Number::New(env, static_cast<double>(reclaim_dead(env, host_pool_class_bytes(bytes))));
}

}  // namespace

HostLease* pin_host(void* data) {
  if (data == nullptr || g_live_count.load(std::memory_order_relaxed) == 0) return nullptr;
  std::lock_guard<std::mutex> lock(g_mu);
  auto it = g_live.find(data);
  if (it == g_live.end()) return nullptr;
  ++it->second->refs;
  return it->second;
}

void unpin_host(HostLease* l) {
  HostBlock* b;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    --l->refs;
    b = settle_locked(l);
  }
  host_release(b);
}

void register_host_memory(Napi::Env env, const Exports& e) {
  set_fn<HostAlloc>(env, e.runtime, "hostAlloc");
  set_fn<HostRelease>(env, e.runtime, "hostRelease");
  set_fn<HostPoolStatsFn>(env, e.runtime, "hostPoolStats");
  set_fn<HostPoolSetLimit>(env, e.runtime, "hostPoolSetLimit");
  set_fn<HostPoolTrim>(env, e.runtime, "hostPoolTrim");
  set_fn<HostReclaim>(env, e.runtime, "hostReclaim");
}

}  // namespace tk::napi

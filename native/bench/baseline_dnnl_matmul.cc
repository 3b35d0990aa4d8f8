#include "baseline_dnnl_matmul.h"

#include <dlfcn.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <type_traits>

namespace tk::bench {
namespace {

// The oneDNN 2.x C API subset used here, declared by hand (no oneDNN headers at build time). The
// descriptors are structs the library fills and reads through pointers: opaque, over-sized, aligned
// blobs (2.6: memory desc 696 bytes, matmul desc 2800). Enum values from 2.6's dnnl_types.h.
struct alignas(64) MemDesc {
  unsigned char bytes[2048];
};
struct alignas(64) OpDesc {
  unsigned char bytes[8192];
};
using Handle = void*;
using Dims = int64_t[12];
struct ExecArg {
  int arg;
  Handle memory;
};
constexpr int kF32 = 3, kS32 = 4, kS8 = 5, kU8 = 6;
constexpr int kTagAny = 1, kCpu = 1, kStreamDefault = 1;
constexpr int kQueryWeightsMd = 131;
constexpr int kArgSrc = 1, kArgDst = 17, kArgWeights = 33, kArgFrom = 1, kArgTo = 17;
void* const kAllocate = reinterpret_cast<void*>(~size_t(0));

struct Api {
  int (*engine_create)(Handle*, int, size_t);
  int (*stream_create)(Handle*, Handle, unsigned);
  int (*md_by_strides)(MemDesc*, int, const int64_t*, int, const int64_t*);
  int (*md_by_tag)(MemDesc*, int, const int64_t*, int, int);
  int (*matmul_desc_init)(OpDesc*, const MemDesc*, const MemDesc*, const MemDesc*, const MemDesc*);
  int (*pd_create)(Handle*, const void*, Handle, Handle, Handle);
  const MemDesc* (*pd_query_md)(Handle, int, int);
  int (*pd_destroy)(Handle);
  int (*reorder_pd_create)(Handle*, const MemDesc*, Handle, const MemDesc*, Handle, Handle);
  int (*prim_create)(Handle*, Handle);
  int (*prim_execute)(Handle, Handle, int, const ExecArg*);
  int (*prim_destroy)(Handle);
  int (*mem_create)(Handle*, const MemDesc*, Handle, void*);
  int (*mem_set_handle)(Handle, void*);
  int (*mem_destroy)(Handle);
  int (*stream_wait)(Handle);
};
Api g_api;
bool g_loaded = false;
Handle g_engine = nullptr, g_stream = nullptr;

// One shape's primitive with weights reordered from one b buffer (the bench rotates weight copies).
struct Entry {
  Handle prim = nullptr, src = nullptr, wei = nullptr, dst = nullptr;
};
std::map<std::tuple<int64_t, int64_t, int64_t, int, bool, const void*>, Entry> g_cache;
std::mutex g_mu;

Status check(int r, const char* what) {
  return r == 0 ? Status::Ok() : Internal(std::string("oneDNN ") + what + " failed: status " + std::to_string(r));
}

// A 2-D memory desc over row-major storage (rows x cols at row stride ld), or with `by_cols` the
// transpose's view of it.
Status plain_md(MemDesc* md, int64_t rows, int64_t cols, int dt, int64_t ld, bool trans) {
  Dims dims = {rows, cols}, strides = {trans ? 1 : ld, trans ? ld : 1};
  return check(g_api.md_by_strides(md, 2, dims, dt, strides), "memory_desc_init_by_strides");
}

Status make_entry(const GemmParams& p, const GemmShape& s, Entry* e) {
  const bool int8 = p.a.dtype == DType::kInt8;
  MemDesc src, wei_user, wei_any, dst;
  TK_RETURN_IF_ERROR(plain_md(&src, s.M, s.K, int8 ? kU8 : kF32, s.lda, p.trans_a));
  TK_RETURN_IF_ERROR(plain_md(&wei_user, s.K, s.N, int8 ? kS8 : kF32, s.ldb, p.trans_b));
  Dims wdims = {s.K, s.N};
  TK_RETURN_IF_ERROR(check(g_api.md_by_tag(&wei_any, 2, wdims, int8 ? kS8 : kF32, kTagAny), "memory_desc_init_by_tag"));
  TK_RETURN_IF_ERROR(plain_md(&dst, s.M, s.N, int8 ? kS32 : kF32, s.N, false));
  OpDesc od;
  TK_RETURN_IF_ERROR(check(g_api.matmul_desc_init(&od, &src, &wei_any, nullptr, &dst), "matmul_desc_init"));
  Handle pd = nullptr;
  TK_RETURN_IF_ERROR(check(g_api.pd_create(&pd, &od, nullptr, g_engine, nullptr), "matmul primitive_desc_create"));
  std::unique_ptr<void, int (*)(Handle)> pd_guard(pd, g_api.pd_destroy);
  const MemDesc* wei_md = g_api.pd_query_md(pd, kQueryWeightsMd, 0);
  if (!wei_md) return Internal("oneDNN matmul: no weights memory desc");
  TK_RETURN_IF_ERROR(check(g_api.prim_create(&e->prim, pd), "matmul primitive_create"));
  TK_RETURN_IF_ERROR(check(g_api.mem_create(&e->src, &src, g_engine, p.a.data), "memory_create"));
  TK_RETURN_IF_ERROR(check(g_api.mem_create(&e->dst, &dst, g_engine, p.out.data), "memory_create"));
  TK_RETURN_IF_ERROR(check(g_api.mem_create(&e->wei, wei_md, g_engine, kAllocate), "memory_create"));
  // The weights, reordered once into the primitive's layout.
  Handle user = nullptr, rpd = nullptr, reorder = nullptr;
  TK_RETURN_IF_ERROR(check(g_api.mem_create(&user, &wei_user, g_engine, p.b.data), "memory_create"));
  Status st = check(g_api.reorder_pd_create(&rpd, &wei_user, g_engine, wei_md, g_engine, nullptr), "reorder primitive_desc_create");
  if (st.ok()) st = check(g_api.prim_create(&reorder, rpd), "reorder primitive_create");
  if (st.ok()) {
    const ExecArg args[2] = {{kArgFrom, user}, {kArgTo, e->wei}};
    st = check(g_api.prim_execute(reorder, g_stream, 2, args), "reorder execute");
    if (st.ok()) st = check(g_api.stream_wait(g_stream), "stream_wait");
  }
  if (reorder) g_api.prim_destroy(reorder);
  if (rpd) g_api.pd_destroy(rpd);
  g_api.mem_destroy(user);
  return st;
}

}  // namespace

bool dnnl_matmul_load(void* h, int major, std::string* why) {
  if (major != 2) {
    *why = "the matmul baseline speaks oneDNN 2.x's C API; found " + std::to_string(major) + ".x";
    return false;
  }
  auto sym = [&](auto& fn, const char* name) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(h, name));
    if (!fn && why->empty()) *why = std::string("libdnnl has no ") + name;
  };
  Api& a = g_api;
  sym(a.engine_create, "dnnl_engine_create");
  sym(a.stream_create, "dnnl_stream_create");
  sym(a.md_by_strides, "dnnl_memory_desc_init_by_strides");
  sym(a.md_by_tag, "dnnl_memory_desc_init_by_tag");
  sym(a.matmul_desc_init, "dnnl_matmul_desc_init");
  sym(a.pd_create, "dnnl_primitive_desc_create");
  sym(a.pd_query_md, "dnnl_primitive_desc_query_md");
  sym(a.pd_destroy, "dnnl_primitive_desc_destroy");
  sym(a.reorder_pd_create, "dnnl_reorder_primitive_desc_create");
  sym(a.prim_create, "dnnl_primitive_create");
  sym(a.prim_execute, "dnnl_primitive_execute");
  sym(a.prim_destroy, "dnnl_primitive_destroy");
  sym(a.mem_create, "dnnl_memory_create");
  sym(a.mem_set_handle, "dnnl_memory_set_data_handle");
  sym(a.mem_destroy, "dnnl_memory_destroy");
  sym(a.stream_wait, "dnnl_stream_wait");
  if (!why->empty()) return false;
  if (a.engine_create(&g_engine, kCpu, 0) != 0 || a.stream_create(&g_stream, g_engine, kStreamDefault) != 0) {
    *why = "oneDNN could not create a CPU engine and stream";
    return false;
  }
  g_loaded = true;
  return true;
}

Status dnnl_matmul_run(const GemmParams& p, const GemmShape& s) {
  if (!g_loaded) return Unsupported("the oneDNN matmul baseline is not loaded");
  if (p.a.dtype != DType::kFloat32 && p.a.dtype != DType::kInt8) return Unsupported("the oneDNN matmul baseline takes float32 or int8");
  std::lock_guard<std::mutex> lock(g_mu);
  const auto key = std::make_tuple(s.M, s.N, s.K, int(p.a.dtype), p.trans_a, static_cast<const void*>(p.b.data));
  auto it = g_cache.find(key);
  if (it == g_cache.end()) {
    Entry e;
    Status st = make_entry(p, s, &e);
    if (!st.ok()) return st;
    it = g_cache.emplace(key, e).first;
  }
  const Entry& e = it->second;
  TK_RETURN_IF_ERROR(check(g_api.mem_set_handle(e.src, p.a.data), "memory_set_data_handle"));
  TK_RETURN_IF_ERROR(check(g_api.mem_set_handle(e.dst, p.out.data), "memory_set_data_handle"));
  const ExecArg args[3] = {{kArgSrc, e.src}, {kArgWeights, e.wei}, {kArgDst, e.dst}};
  TK_RETURN_IF_ERROR(check(g_api.prim_execute(e.prim, g_stream, 3, args), "matmul execute"));
  return check(g_api.stream_wait(g_stream), "stream_wait");
}

}  // namespace tk::bench

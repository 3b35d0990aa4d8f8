// The CPU driver: threads get contiguous row ranges of equal work (nonzeros plus a per-row cost),
// not equal rows, since power-law matrices put rows of thousands of entries next to empty ones.
#include <algorithm>
#include <string>

#include "../../core/cpu_features.h"
#include "../../core/isa_table.h"
#include "../../core/thread_pool.h"
#include "spmm.h"
#include "spmm_kernels.h"

#include "../../core/kernel_record.h"

namespace tk {
namespace {

CpuKernelRecord g_ran;  // what spmm_cpu last ran

using spmm_kernels::BadIndex;
using spmm_kernels::Csr;
using spmm_kernels::Dense;
using spmm_kernels::IsaKernels;
using spmm_kernels::Plan;

const IsaKernels& kernels_for(Isa isa) {
  return isa_table<IsaKernels>(isa, [](Isa isa, IsaKernels* table) {
    IsaKernels& k = *table;
    spmm_kernels::get_kernels_scalar(&k);
#if defined(__x86_64__) || defined(_M_X64)
    if (isa == Isa::kAvx2) spmm_kernels::get_kernels_avx2(&k);
    if (isa == Isa::kAvx512) spmm_kernels::get_kernels_avx512(&k);
#endif
#if defined(__aarch64__)
    if (isa == Isa::kNeon) spmm_kernels::get_kernels_neon(&k);
#endif
  });
}

// Cost of a row beyond its nonzeros, in nonzero-equivalents: the output tile is written and the
// row's bounds read even when the row is empty.
constexpr int64_t kRowCost = 2;

int64_t ptr_at(const Csr& a, int64_t r) {
  return a.idx64 ? static_cast<const int64_t*>(a.row_ptr)[r] : static_cast<const int32_t*>(a.row_ptr)[r];
}

// First row r with work(r) = row_ptr[r] + r * kRowCost >= target. Only positions of row_ptr are
// read (never dereferenced through its values), so an inconsistent row_ptr cannot misdirect memory.
int64_t row_at_work(const Csr& a, int64_t target) {
  int64_t lo = 0, hi = a.rows;
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (ptr_at(a, mid) + mid * kRowCost < target)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

Csr csr_of(const SpmmParams& p) {
  return Csr{p.row_ptr.data, p.col_idx.data, p.values.as<float>(), p.row_ptr.dtype == DType::kInt64, p.rows, p.cols, p.col_idx.shape[0]};
}

Dense dense_of(const SpmmParams& p) {
  const int64_t n = p.b.shape[1];
  const bool has_c = p.c.ndim >= 0 && p.beta != 0.0f;
  return Dense{p.b.as<float>(), n, has_c ? p.c.as<float>() : nullptr, n, p.out.as<float>(), n, n, p.alpha, has_c ? p.beta : 0.0f};
}

Status bad_index_status(const SpmmParams& p, const BadIndex& bad) {
  const int64_t r = bad.row.load(), pos = bad.pos.load();
  auto idx = [&](const TensorView& t, int64_t i) {
    return std::to_string(t.dtype == DType::kInt64 ? t.as<int64_t>()[i] : t.as<int32_t>()[i]);
  };
  if (pos < 0) {
    return InvalidArgument("Expected rowPtr non-decreasing within [0, nnz] but rowPtr[" + std::to_string(r) + "] = " + idx(p.row_ptr, r) +
                           " and rowPtr[" + std::to_string(r + 1) + "] = " + idx(p.row_ptr, r + 1));
  }
  return InvalidArgument("Expected colIdx in [0, " + std::to_string(p.cols) + ") but colIdx[" + std::to_string(pos) +
                         "] = " + idx(p.col_idx, pos) + " (row " + std::to_string(r) + ")");
}

// The walk: full-width column tiles (8 vectors: 64 floats on AVX2), the tiles of a row back to back.
// Measured here and rejected: narrower tiles with more accumulator sets (B panels that fit L2), and
// column tiles outside chunks of rows (A reused from L2): both slower on every bench matrix at N = 64
// to 256. Prefetching B rows pays when B's tile comes from L3 or DRAM (random 8192^2 at N = 64, 2 MB:
// 1.2-1.5x) and costs load slots when it sits in L2 (bcsstk13 at N = 64, 0.5 MB: 0.7x), so it is on
// only above the L2 size.
constexpr int64_t kL2Bytes = 512 * 1024;

Plan plan_for(const Csr& a, const Dense& d, int tile_floats) {
  Plan pl;
  const int64_t tile = std::min<int64_t>(d.n, tile_floats);
  pl.prefetch = a.cols * tile * 4 > kL2Bytes;
  return pl;
}

Status run(const SpmmParams& p, bool plain) {
  const Csr a = csr_of(p);
  const Dense d = dense_of(p);
  if (a.rows == 0 || d.n == 0) return Status::Ok();
  const IsaKernels& k = kernels_for(active_isa());
  if (!plain) g_ran.set(k.name);
  BadIndex bad;
  const Plan plan = plan_for(a, d, k.tile_floats);
  const int64_t total = a.nnz + a.rows * kRowCost;
  // Small products are not worth waking the pool for.
  const int max_threads = total * d.n < (int64_t(1) << 16) ? 1 : num_threads();
  Status s = parallel_run(max_threads, [&](int tid, int nt) {
    int64_t r0, r1;
    if (plain) {  // the baseline splits rows evenly, as a simple parallel-for would
      r0 = a.rows * tid / nt;
      r1 = a.rows * (tid + 1) / nt;
      k.plain_rows(a, d, plan, r0, r1, &bad);
    } else {
      r0 = tid == 0 ? 0 : row_at_work(a, total * tid / nt);
      r1 = tid == nt - 1 ? a.rows : row_at_work(a, total * (tid + 1) / nt);
      if (r0 < r1) k.rows(a, d, plan, r0, r1, &bad);
    }
  });
  TK_RETURN_IF_ERROR(s);
  if (bad.row.load() >= 0) return bad_index_status(p, bad);
  return Status::Ok();
}

}  // namespace

Status spmm_cpu(const SpmmParams& p) { return run(p, false); }
Status spmm_plain(const SpmmParams& p) {
  TK_RETURN_IF_ERROR(spmm_validate(p));
  if (!p.b.device.is_cpu()) return Unsupported("spmmPlain runs on the CPU");
  return run(p, true);
}

const char* spmm_cpu_last_kernel() { return g_ran.get(); }

}  // namespace tk

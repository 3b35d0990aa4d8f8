// The ISA-neutral CPU GEMM driver: picks the kernel table for the CPU, the path (blocked BLIS-style
// or skinny), splits C into tiles the pool's threads take dynamically, and handles what the kernels
// do not: dtype conversion of out / c / bias, batches, K = 0.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "../../core/cpu_features.h"
#include "../../core/host_pool.h"
#include "../../core/isa_table.h"
#include "../../core/kernel_record.h"
#include "../../core/half.h"
#include "../../core/scratch.h"
#include "../../core/thread_pool.h"
#include "../cast/cast.h"
#include "gemm.h"
#include "gemm_kernels.h"

namespace tk {
namespace {

using gemm_kernels::BlockedKernels;
using gemm_kernels::Blocks;
using gemm_kernels::Epilogue;
using gemm_kernels::IsaKernels;
using gemm_kernels::Operand;

CpuKernelRecord g_ran;  // what gemm_cpu last ran

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// The AVX-512 block configs (gemm_kernels::Blocks): "wide" for cores with two full-width 512-bit FMA
// pipes and 1 MB of L2 per core -- AMD Zen 5 (CPUID family 0x1A) and later, where the *Wide configs
// were measured; "xeon" for Intel Sapphire / Emerald Rapids (family 6, model 0x8F / 0xCF: int8's own
// blocks, gemm_configs.h); "split" for the rest (Zen 4 double-pumps 512-bit work).
// TENSORKERN_GEMM_BLOCKS sets it at start-up, gemm_cpu_set_blocks() later (tests run each on one
// machine). -1 = from the CPU.
int parse_blocks(const char* s) {
  if (s == nullptr) return -1;
  const std::string m = s;
  return m == "split" ? 0 : m == "wide" ? 1 : m == "xeon" ? 2 : -1;
}
std::atomic<int> g_blocks{parse_blocks(std::getenv("TENSORKERN_GEMM_BLOCKS"))};

Blocks blocks_in_use() {
  const int b = g_blocks.load(std::memory_order_relaxed);
  if (b >= 0) return static_cast<Blocks>(b);
  const CpuFeatures& f = cpu_features();
  if (f.vendor == "AuthenticAMD" && f.family >= 0x1A) return Blocks::kWide;
  if (f.vendor == "GenuineIntel" && f.family == 6 && (f.model == 0x8F || f.model == 0xCF)) return Blocks::kXeon;
  return Blocks::kSplit;
}

template <Blocks kBlocks>
const IsaKernels& kernels_table(Isa isa) {
  return isa_table<IsaKernels, int(kBlocks)>(isa, [](Isa isa, IsaKernels* table) {
    IsaKernels& k = *table;
    gemm_kernels::get_kernels_scalar(&k);
#if defined(__x86_64__) || defined(_M_X64)
    if (isa == Isa::kAvx2 || isa == Isa::kAvx512) gemm_kernels::get_kernels_avx2(&k);
    if (isa == Isa::kAvx512) {
      const CpuFeatures& f = cpu_features();
      gemm_kernels::get_kernels_avx512(&k, f.avx512vnni, f.avx512bf16, kBlocks);
    }
#endif
#if defined(__aarch64__)
    if (isa == Isa::kNeon) gemm_kernels::get_kernels_neon(&k);
#endif
  });
}

const IsaKernels& kernels_for(Isa isa) {
  if (isa != Isa::kAvx512) return kernels_table<Blocks::kSplit>(isa);
  switch (blocks_in_use()) {
    case Blocks::kWide: return kernels_table<Blocks::kWide>(isa);
    case Blocks::kXeon: return kernels_table<Blocks::kXeon>(isa);
    default: return kernels_table<Blocks::kSplit>(isa);
  }
}

size_t elem_bytes(DType t) { return size_t(dtype_bits(t) / 8); }

Operand batch_operand(const TensorView& t, int64_t ld, bool trans, int64_t stride, int64_t b) {
  return Operand{static_cast<const char*>(t.data) + b * stride * int64_t(elem_bytes(t.dtype)), t.dtype, ld, trans};
}

template <class Acc>
struct Problem {
  const GemmShape* s;
  const TensorView *a, *b;
  bool trans_a, trans_b;
  Acc* c;            // output accumulation target, [batch][M][N]
  int64_t stride_c;  // 0 or M*N
  const Acc* cin;    // beta * cin input, or null
  int64_t stride_cin;
  const Acc* bias;  // [N] or null
  Acc alpha, beta;
  // GemmParams::on_done, or null: done(b, i0, j0, rows, cols) after a region's last K block.
  void (*on_done)(void*, int64_t, int64_t, int64_t, int64_t, int64_t) = nullptr;
  void* on_done_ctx = nullptr;
  // GemmParams::group_scales transposed to [K / gsize, N], or null (the grouped int8 kernels).
  const float* gscale = nullptr;
  int64_t gsize = 0;
  const float* group_scales(int64_t k0, int64_t col) const { return gscale ? gscale + (k0 / gsize) * s->N + col : nullptr; }
  const GemmParams* params = nullptr;  // for int4 b (GemmParams::int4_scales)
  // op(B) of batch entry bi as the kernels read it.
  Operand b_operand(int64_t bi) const {
    Operand o = batch_operand(*b, s->ldb, trans_b, s->stride_b, bi);
    if (params && params->int4_scales) {
      o.scales = params->int4_scales;
      o.zeros = params->int4_zeros;
      o.group = params->int4_group;
    }
    return o;
  }
  void done(int64_t b, int64_t i0, int64_t j0, int64_t rows, int64_t cols) const {
    if (on_done) on_done(on_done_ctx, b, i0, j0, rows, cols);
  }
};

// The epilogue for the K block [pc, pc + kcb): the first applies alpha and beta * C, the last the bias.
template <class Acc>
Epilogue<Acc> block_epilogue(const Problem<Acc>& p, int64_t pc, int64_t kcb) {
  Epilogue<Acc> e;
  e.alpha = p.alpha;
  e.beta = p.beta;
  e.first = pc == 0;
  e.last = pc + kcb >= p.s->K;
  e.ldcin = p.s->N;
  e.ldgs = p.s->N;
  e.gsize = static_cast<int>(p.gsize);
  return e;
}

// Where run_blocked keeps B: blocks of (NC block j, KC block k), each `stride` bytes (room for its
// whole panels at the longest K block), block (j, k) at (j * kblocks + k) * stride. A packed weight
// (gemm_pack_b) is all of them in one buffer; a call packs two at a time.
struct BGeometry {
  int64_t kc_max, nc, jblocks, kblocks;
  size_t stride;
  int64_t bytes() const { return jblocks * kblocks * int64_t(stride); }
};
template <class Acc>
BGeometry b_geometry(const BlockedKernels<Acc>& k, int64_t K, int64_t N) {
  BGeometry g;
  g.kc_max = std::min<int64_t>(k.kc, K);
  g.nc = std::min<int64_t>(k.nc, round_up(N, k.nr));
  g.jblocks = ceil_div(N, g.nc);
  g.kblocks = ceil_div(K, int64_t(k.kc));
  g.stride = size_t(round_up(int64_t(size_t(ceil_div(g.nc, k.nr)) * k.b_panel_bytes(g.kc_max)), 64));
  return g;
}

template <class Acc>
Status run_blocked_small_m(const BlockedKernels<Acc>& k, const Problem<Acc>& p) {
  const GemmShape& s = *p.s;
  const int nt = num_threads();
  const int64_t KC = k.small_k_block();
  const int64_t kc_max = std::min<int64_t>(KC, s.K);
  const int64_t mpanels = ceil_div(s.M, k.mr);
  const size_t a_bytes = size_t(mpanels) * k.a_panel_bytes(kc_max);
  const int64_t npanels = ceil_div(s.N, k.nr);
  // Groups of panels per work unit: enough units for the threads, few enough to amortize A packing.
  const int64_t groups = std::min<int64_t>(npanels, 4 * int64_t(nt));
  // B stored [K, N] is packed kChunk panels at a time: one panel reads 128-byte pieces of KC rows
  // far apart (one DRAM stream each), eight read 1 KB of each row. B [N, K]: a panel at a time.
  constexpr int64_t kChunk = 8;
  const int64_t chunk = p.trans_b ? 1 : kChunk;
  const size_t b_bytes = size_t(chunk) * k.b_panel_bytes(kc_max);
  for (int64_t bi = 0; bi < s.batch; ++bi) {
    const Operand A = batch_operand(*p.a, s.lda, p.trans_a, s.stride_a, bi);
    const Operand B = p.b_operand(bi);
    Acc* C = p.c + bi * p.stride_c;
    const Acc* Cin = p.cin ? p.cin + bi * p.stride_cin : nullptr;
    std::atomic<int64_t> next{0};
    TK_RETURN_IF_ERROR(parallel_run(static_cast<int>(std::min<int64_t>(groups, nt)), [&](int, int) {
      char* abuf = static_cast<char*>(thread_scratch(ScratchSlot::kPackA, a_bytes));
      char* bbuf = static_cast<char*>(thread_scratch(ScratchSlot::kPackB, b_bytes));
      // Each unit walks all of K for its columns, so a thread's units are (group) x (K blocks):
      // A is repacked per K block, once per unit.
      for (int64_t g = next++; g < groups; g = next++) {
        const int64_t q0 = npanels * g / groups, q1 = npanels * (g + 1) / groups;
        for (int64_t pc = 0; pc < s.K; pc += KC) {
          const int64_t kcb = std::min<int64_t>(KC, s.K - pc);
          const size_t apb = k.a_panel_bytes(kcb);
          k.pack_a(A, 0, s.M, pc, kcb, abuf);
          Epilogue<Acc> e = block_epilogue(p, pc, kcb);
          const size_t bpb = k.b_panel_bytes(kcb);
          for (int64_t qc = q0; qc < q1; qc += chunk) {
            const int64_t qe = std::min(q1, qc + chunk);
            k.pack_b(B, pc, kcb, qc * k.nr, std::min(s.N, qe * k.nr) - qc * k.nr, bbuf);
            for (int64_t q = qc; q < qe; ++q) {
              const int64_t col = q * k.nr;
              const int nr = static_cast<int>(std::min<int64_t>(k.nr, s.N - col));
              const char* bp = bbuf + (q - qc) * bpb;
              e.bias = p.bias ? p.bias + col : nullptr;
              e.gscale = p.group_scales(pc, col);
              for (int64_t ir = 0; ir < s.M; ir += k.mr) {
                e.cin = Cin ? Cin + ir * s.N + col : nullptr;
                const int mr = static_cast<int>(std::min<int64_t>(k.mr, s.M - ir));
                k.ukr(kcb, abuf + (ir / k.mr) * apb, bp, C + ir * s.N + col, s.N, mr, nr, e);
              }
            }
            // this chunk of panels is final (its tiles in L1 / L2): one call for all of it
            if (e.last) p.done(bi, 0, qc * k.nr, s.M, std::min(s.N, qe * k.nr) - qc * k.nr);
          }
        }
      }
    }));
  }
  return Status::Ok();
}

// The BLIS loop nest over blocks of (batch, NC columns of N, KC steps of K), in that order. Every
// block's KC x NC piece of B is packed once, by all threads together (whole NR panels), into one of
// two buffers, and then multiplied by every row of C: units of (MC block of M, group of NR panels)
// taken from an atomic counter, each thread packing its own A block. One parallel region per block
// does both: it packs the *next* block's B into the other buffer (those tasks come first) while it
// multiplies this one, so a block costs one barrier (the end of its region), not two, and packing
// is shared out as dynamically as the products (2048^3 float32, 2 threads: 0.95 -> 1.0x oneDNN).
// `packed`: all of B already packed (gemm_pack_b, b_geometry's layout); nothing is packed then.
template <class Acc>
Status run_blocked(const BlockedKernels<Acc>& k, const Problem<Acc>& p, const char* packed = nullptr) {
  const GemmShape& s = *p.s;
  // Few rows (A is one block): no shared B block. Each thread packs all of A's rows for this K block
  // and then takes groups of B panels, packing each panel just before its microkernels use it, so
  // the packed panel never leaves L1 and no thread waits for another's packing.
  if (!packed && s.M <= k.small_rows()) return run_blocked_small_m(k, p);

  const int nt = num_threads();
  const BGeometry geo = b_geometry(k, s.K, s.N);
  const int64_t kc_max = geo.kc_max, nc = geo.nc;
  // M is cut into `mblocks` blocks of whole MR panels, as even as the panels allow, at most MC rows
  // each, and a multiple of the thread count when there are enough panels (2048 rows in 15 blocks on
  // 2 threads would leave one thread idle for a fifteenth of the time).
  const int64_t mpanels = ceil_div(s.M, k.mr);
  int64_t mblocks = ceil_div(mpanels * k.mr, k.mc);
  if (mpanels >= round_up(mblocks, nt)) mblocks = round_up(mblocks, nt);
  const int64_t max_block_panels = ceil_div(mpanels, mblocks);
  const size_t a_bytes = size_t(max_block_panels) * k.a_panel_bytes(kc_max);
  const size_t b_buf_bytes = geo.stride;
  char* bbufs = packed ? nullptr : static_cast<char*>(thread_scratch(ScratchSlot::kPackB, 2 * b_buf_bytes));

  // Block b: batch b / (jblocks * kblocks), then NC block, then KC block.
  const int64_t jblocks = geo.jblocks, kblocks = geo.kblocks;
  const int64_t nblocks = s.batch * jblocks * kblocks;
  struct Block {
    Operand A, B;
    int64_t bi, jc, ncb, npanels, pc, kcb;
    size_t apb, bpb;
    char* bbuf;
  };
  auto block = [&](int64_t b) {
    Block x;
    x.bi = b / (jblocks * kblocks);
    x.jc = (b / kblocks) % jblocks * nc;
    x.pc = b % kblocks * k.kc;
    x.A = batch_operand(*p.a, s.lda, p.trans_a, s.stride_a, x.bi);
    x.B = p.b_operand(x.bi);
    x.ncb = std::min(nc, s.N - x.jc);
    x.npanels = ceil_div(x.ncb, k.nr);
    x.kcb = std::min<int64_t>(k.kc, s.K - x.pc);
    x.apb = k.a_panel_bytes(x.kcb);
    x.bpb = k.b_panel_bytes(x.kcb);
    x.bbuf = packed ? const_cast<char*>(packed) + (b % (jblocks * kblocks)) * b_buf_bytes : bbufs + (b & 1) * b_buf_bytes;
    return x;
  };
  // Packing B of a block in `tasks` pieces of whole panels; piece t of them.
  auto pack_piece = [&](const Block& x, int64_t t, int64_t tasks) {
    const int64_t p0 = x.npanels * t / tasks, p1 = x.npanels * (t + 1) / tasks;
    if (p0 < p1) k.pack_b(x.B, x.pc, x.kcb, x.jc + p0 * k.nr, std::min(x.ncb, p1 * k.nr) - p0 * k.nr, x.bbuf + p0 * x.bpb);
  };
  auto pack_tasks = [&](const Block& x) { return std::min<int64_t>(x.npanels, 2 * int64_t(nt)); };

  if (!packed) {  // the first block's B, before anything can multiply it
    const Block x = block(0);
    const int64_t tasks = std::min<int64_t>(x.npanels, nt);
    TK_RETURN_IF_ERROR(parallel_run(static_cast<int>(tasks), [&](int tid, int) { pack_piece(x, tid, tasks); }));
  }
  for (int64_t b = 0; b < nblocks; ++b) {
    const Block x = block(b);
    const bool has_next = b + 1 < nblocks;
    const Block nx = has_next ? block(b + 1) : x;
    const int64_t ptasks = has_next && !packed ? pack_tasks(nx) : 0;
    // units of work on this block: enough groups of panels to keep every thread busy
    int64_t groups = 1;
    while (mblocks * groups < 2 * nt && groups < x.npanels) ++groups;
    const int64_t units = ptasks + mblocks * groups;
    Acc* C = p.c + x.bi * p.stride_c;
    const Acc* Cin = p.cin ? p.cin + x.bi * p.stride_cin : nullptr;
    std::atomic<int64_t> next{0};
    TK_RETURN_IF_ERROR(parallel_run(static_cast<int>(std::min<int64_t>(units, nt)), [&](int, int) {
      char* abuf = static_cast<char*>(thread_scratch(ScratchSlot::kPackA, a_bytes));
      int64_t packed_block = -1;
      Epilogue<Acc> e = block_epilogue(p, x.pc, x.kcb);
      for (int64_t u = next++; u < units; u = next++) {
        if (u < ptasks) {
          pack_piece(nx, u, ptasks);
          continue;
        }
        const int64_t mb = (u - ptasks) / groups, g = (u - ptasks) % groups;
        const int64_t i0 = (mpanels * mb / mblocks) * k.mr;
        const int64_t mcb = std::min(s.M, (mpanels * (mb + 1) / mblocks) * k.mr) - i0;
        if (packed_block != mb) {
          k.pack_a(x.A, i0, mcb, x.pc, x.kcb, abuf);
          packed_block = mb;
        }
        const int64_t q0 = x.npanels * g / groups, q1 = x.npanels * (g + 1) / groups;
        for (int64_t q = q0; q < q1; ++q) {
          const int64_t jr = q * k.nr, col = x.jc + jr;
          const char* bp = x.bbuf + q * x.bpb;
          e.bias = p.bias ? p.bias + col : nullptr;
          e.gscale = p.group_scales(x.pc, col);
          const int nr = static_cast<int>(std::min<int64_t>(k.nr, x.ncb - jr));
          for (int64_t ir = 0; ir < mcb; ir += k.mr) {
            const int64_t row = i0 + ir;
            e.cin = Cin ? Cin + row * s.N + col : nullptr;
            const int mr = static_cast<int>(std::min<int64_t>(k.mr, mcb - ir));
            k.ukr(x.kcb, abuf + (ir / k.mr) * x.apb, bp, C + row * s.N + col, s.N, mr, nr, e);
          }
        }
        // the unit's rows x panels are final, in L1 / L2: one call for all of them (called per
        // microkernel tile, int8Matmul spent 14 % of its 1024^3 samples in the finishing, perf)
        if (e.last && q0 < q1) p.done(x.bi, i0, x.jc + q0 * k.nr, mcb, std::min(x.ncb, q1 * k.nr) - q0 * k.nr);
      }
    }));
  }
  return Status::Ok();
}

// op(A) of one batch entry as contiguous float32 [M, K] (the skinny kernels' A).
void gather_a_f32(const Operand& a, int64_t M, int64_t K, float* dst) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t k = 0; k < K; ++k) {
      const int64_t idx = a.trans ? k * a.ld + i : i * a.ld + k;
      switch (a.dtype) {
        case DType::kFloat16: dst[i * K + k] = f16_to_f32(static_cast<const uint16_t*>(a.data)[idx]); break;
        case DType::kBFloat16: dst[i * K + k] = bf16_to_f32(static_cast<const uint16_t*>(a.data)[idx]); break;
        default: dst[i * K + k] = static_cast<const float*>(a.data)[idx]; break;
      }
    }
}

// The skinny kernels' view of a problem: M rows of A (gathered contiguous from `a_src`, element
// (i, k) = data[trans ? k * ld + i : i * ld + k]) against N columns of op(B) (`b`, trans = stored
// [N, K]). swap (N == 1, any M): C [M, 1] is the row vector C^T = op(B)^T op(A)^T, the same memory,
// so the one column of op(B) becomes the single row of A and op(A) becomes B (a bias of length 1 is
// then broadcast over the M columns by the caller).
struct SkinnyView {
  int64_t M, N;
  Operand a_src, b;
};
SkinnyView skinny_view(const GemmShape& s, const Operand& A, const Operand& B, bool swap) {
  if (!swap) return {s.M, s.N, A, B};
  return {1, s.M, Operand{B.data, B.dtype, B.ld, !B.trans}, Operand{A.data, A.dtype, A.ld, !A.trans}};
}

// Few rows of A (or N == 1 with swap): the unpacked skinny kernels over column chunks (a multiple of
// 64 columns: one cache line of float32 per row of B), split evenly over the threads.
template <class Acc, class Kernels, class AElem>
Status run_skinny_t(const Kernels& k, const Problem<Acc>& p, bool swap, void (*gather)(const Operand&, int64_t, int64_t, AElem*)) {
  const GemmShape& s = *p.s;
  const int64_t M = swap ? 1 : s.M, N = swap ? s.M : s.N, K = s.K;
  PooledBuffer a_buf(size_t(M * K) * sizeof(AElem)), bias_buf(swap && p.bias ? size_t(N) * sizeof(Acc) : 0);
  AElem* a_rows = a_buf.as<AElem>();
  Acc* bias = bias_buf.as<Acc>();
  if (swap && p.bias) std::fill(bias, bias + N, p.bias[0]);
  const int threads = num_threads();
  const int64_t chunk = std::max<int64_t>(64, round_up(ceil_div(N, threads), 64));
  const int64_t chunks = ceil_div(N, chunk);
  const size_t scratch_bytes = size_t(M) * size_t(std::max<int64_t>(chunk, 512)) * sizeof(Acc);
  for (int64_t bi = 0; bi < s.batch; ++bi) {
    const SkinnyView v =
        skinny_view(s, batch_operand(*p.a, s.lda, p.trans_a, s.stride_a, bi), batch_operand(*p.b, s.ldb, p.trans_b, s.stride_b, bi), swap);
    gather(v.a_src, M, K, a_rows);
    Epilogue<Acc> e;
    e.alpha = p.alpha;
    e.beta = p.beta;
    e.cin = p.cin ? p.cin + bi * p.stride_cin : nullptr;
    e.ldcin = N;
    e.bias = swap ? (p.bias ? bias : nullptr) : p.bias;
    Acc* C = p.c + bi * p.stride_c;
    TK_RETURN_IF_ERROR(parallel_run(static_cast<int>(chunks), [&](int tid, int nt) {
      Acc* scratch = static_cast<Acc*>(thread_scratch(ScratchSlot::kWork, scratch_bytes));
      for (int64_t ci = tid; ci < chunks; ci += nt) {
        const int64_t n0 = ci * chunk, n1 = std::min(N, n0 + chunk);
        k.run(M, K, a_rows, v.b, n0, n1, C, N, e, scratch);
        // swap: C [M, 1] was computed as the row [1, M]; its chunk is rows [n0, n1) of column 0
        if (swap)
          p.done(bi, n0, 0, n1 - n0, 1);
        else
          p.done(bi, 0, n0, M, n1 - n0);
      }
    }));
  }
  return Status::Ok();
}

void gather_a_i8(const Operand& a, int64_t M, int64_t K, int8_t* dst) {
  const int8_t* d = static_cast<const int8_t*>(a.data);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t k = 0; k < K; ++k) dst[i * K + k] = d[a.trans ? k * a.ld + i : i * a.ld + k];
}

Status run_skinny(const gemm_kernels::SkinnyKernels& k, const Problem<float>& p, bool swap) {
  return run_skinny_t<float>(k, p, swap, gather_a_f32);
}
Status run_skinny_i8(const gemm_kernels::SkinnyI8Kernels& k, const Problem<int32_t>& p, bool swap) {
  return run_skinny_t<int32_t>(k, p, swap, gather_a_i8);
}

// K == 0: out = beta * c + bias, element by element.
template <class Acc>
void epilogue_only(const Problem<Acc>& p) {
  const GemmShape& s = *p.s;
  for (int64_t bi = 0; bi < s.batch; ++bi)
    for (int64_t i = 0; i < s.M; ++i)
      for (int64_t j = 0; j < s.N; ++j) {
        Acc v = 0;
        if (p.cin) v += p.beta * p.cin[bi * p.stride_cin + i * s.N + j];
        if (p.bias) v += p.bias[j];
        p.c[bi * p.stride_c + i * s.N + j] = v;
      }
  for (int64_t bi = 0; bi < s.batch; ++bi) p.done(bi, 0, 0, s.M, s.N);
}

// A float tensor's data as float32: the tensor itself, or a converted copy held in `keep`.
const float* as_f32(const TensorView& t, PooledBuffer& keep) {
  if (t.dtype == DType::kFloat32) return t.as<float>();
  keep = PooledBuffer(size_t(t.numel) * sizeof(float));
  TensorView dst = t;
  dst.dtype = DType::kFloat32;
  dst.data = keep.data();
  CastParams cp{t, dst};
  cast_cpu(cp);
  return keep.as<float>();
}

// bfloat16 takes the vdpbf16ps kernels where they exist and pay on this core (bf16_dot_enabled(),
// core/cpu_features.h), else the float32 ones (A and B widened as they are packed).
bool use_bf16_dot(const IsaKernels& k, DType dtype) {
  return dtype == DType::kBFloat16 && k.bf16_dot.name != nullptr && bf16_dot_enabled();
}

// The blocked kernel table a dtype's calls use on this ISA (B packed for it is usable).
template <class Fn>
auto with_blocked(const IsaKernels& k, DType dtype, Fn fn) {
  if (dtype == DType::kInt8) return fn(k.i8);
  if (use_bf16_dot(k, dtype)) return fn(k.bf16_dot);
  return fn(k.f32);
}

template <class Acc>
std::string layout_id(const BlockedKernels<Acc>& k, DType dtype, const BGeometry& g) {
  return std::string(k.name) + " " + dtype_name(dtype) + " kc" + std::to_string(k.kc) + " nc" + std::to_string(g.nc) + " nr" +
         std::to_string(k.nr);
}

// p.packed_b's data when it was packed for `k` and this shape, else null (b is read and packed).
template <class Acc>
const char* packed_for(const GemmParams& p, const GemmShape& s, const BlockedKernels<Acc>& k) {
  if (!present(p.packed_b) || p.b.ndim != 2) return nullptr;
  const BGeometry g = b_geometry(k, s.K, s.N);
  if (p.packed_layout != layout_id(k, p.b.dtype, g) || int64_t(p.packed_b.nbytes()) != g.bytes()) return nullptr;
  return static_cast<const char*>(p.packed_b.data);
}

Status gemm_float(const GemmParams& p, const GemmShape& s) {
  const IsaKernels& k = kernels_for(active_isa());
  PooledBuffer out_ws, c_ws, bias_ws;  // warm per-call workspaces (native/core/host_pool.h)
  Problem<float> pr{&s, &p.a, &p.b, p.trans_a, p.trans_b, nullptr, s.stride_out, nullptr, s.stride_c, nullptr, p.alpha, p.beta};
  const bool use_c = p.c.ndim >= 0 && p.beta != 0.0f;
  if (use_c) pr.cin = as_f32(p.c, c_ws);
  if (p.bias.ndim >= 0) pr.bias = as_f32(p.bias, bias_ws);
  pr.params = &p;
  if (p.out.dtype == DType::kFloat32) {
    pr.c = p.out.as<float>();
  } else {
    out_ws = PooledBuffer(size_t(p.out.numel) * sizeof(float));
    pr.c = out_ws.as<float>();
  }
  if (s.M > 0 && s.N > 0) {
    const BlockedKernels<float>& blocked = use_bf16_dot(k, p.a.dtype) ? k.bf16_dot : k.f32;
    const char* packed = packed_for(p, s, blocked);
    // Weights packed ahead leave the streaming kernels only the rows they win with B as [N, K]
    // whatever b's layout (M = 32, B [K, N], N = K = 4096: 216 GFLOP/s packed vs 135 streamed).
    const int64_t skinny_max = packed || p.trans_b ? k.skinny.max_m_nt : k.skinny.max_m_nn;
    if (s.K == 0) {
      g_ran.set("epilogue only (K = 0)");
      epilogue_only(pr);
    } else if (p.int4_scales) {  // int4 b: dequantized by the float kernels' packing, whatever the shape
      g_ran.set(k.f32.name);
      TK_RETURN_IF_ERROR(run_blocked(k.f32, pr));
    } else if (s.M <= skinny_max) {
      g_ran.set(k.skinny.name);
      TK_RETURN_IF_ERROR(run_skinny(k.skinny, pr, false));
    } else if (s.N == 1) {
      g_ran.set(k.skinny.name);
      TK_RETURN_IF_ERROR(run_skinny(k.skinny, pr, true));
    } else {
      g_ran.set(blocked.name);
      TK_RETURN_IF_ERROR(run_blocked(blocked, pr, packed));
    }
  }
  if (out_ws.data() != nullptr) {
    TensorView src = p.out;
    src.dtype = DType::kFloat32;
    src.data = out_ws.data();
    return cast_cpu(CastParams{src, p.out});
  }
  return Status::Ok();
}

Status gemm_int8(const GemmParams& p, const GemmShape& s) {
  const IsaKernels& k = kernels_for(active_isa());
  Problem<int32_t> pr{&s, &p.a, &p.b, p.trans_a, p.trans_b, p.out.as<int32_t>(), s.stride_out, nullptr, s.stride_c, nullptr, 1, 0};
  if (p.c.ndim >= 0 && p.beta != 0.0f) {
    pr.cin = p.c.as<int32_t>();
    pr.beta = 1;
  }
  if (p.bias.ndim >= 0) pr.bias = p.bias.as<int32_t>();
  pr.on_done = p.on_done;
  pr.on_done_ctx = p.on_done_ctx;
  if (s.M == 0 || s.N == 0) return Status::Ok();
  if (s.K == 0) {
    g_ran.set("epilogue only (K = 0)");
    epilogue_only(pr);
    return Status::Ok();
  }
  if (p.group_size > 0) {  // W4A4 / W4A8 in weight groups: float32 out, no skinny or packed path
    if (!gemm_cpu_grouped_fits(p.group_size, s.K) || !p.trans_b || pr.cin || pr.bias || s.batch != 1)
      return Internal("gemm: int8 groups of " + std::to_string(p.group_size) + " over K = " + std::to_string(s.K) +
                      " do not fit the grouped kernels in use");
    pr.gscale = p.group_scales;
    pr.gsize = p.group_size;
    g_ran.set(k.i8_grouped.name);
    return run_blocked(k.i8_grouped, pr);
  }
  if (s.M <= k.skinny_i8.max_m || s.N == 1) {
    g_ran.set(k.skinny_i8.name);
    return run_skinny_i8(k.skinny_i8, pr, s.M > k.skinny_i8.max_m);
  }
  g_ran.set(k.i8.name);
  return run_blocked(k.i8, pr, packed_for(p, s, k.i8));
}

}  // namespace

Status gemm_cpu(const GemmParams& p, const GemmShape& s) {
  if (p.on_done && p.a.dtype != DType::kInt8) return Internal("gemm's on_done hook is for int8 inputs only");
  SerialScope serial(2.0 * double(s.batch) * double(s.M) * double(s.N) * double(s.K) < kSerialWork);
  if (p.a.dtype == DType::kInt8) return gemm_int8(p, s);
  return gemm_float(p, s);
}

PackedLayout gemm_packed_layout(DType dtype, int64_t K, int64_t N) {
  PackedLayout l;
  if (dtype != DType::kInt8 && !dtype_is_float(dtype)) return l;
  with_blocked(kernels_for(active_isa()), dtype, [&](const auto& k) {
    const BGeometry g = b_geometry(k, K, N);
    l.id = layout_id(k, dtype, g);
    l.bytes = g.bytes();
    return 0;
  });
  return l;
}

Status gemm_pack_b(const TensorView& b, bool trans_b, const TensorView& dst, const std::string& layout) {
  if (b.ndim != 2) return InvalidArgument("Expected a rank-2 b to pack but received " + shape_str(b));
  if (!b.device.is_cpu() || !dst.device.is_cpu()) return Unsupported("packed weights are for the CPU kernels: pack host tensors");
  if (b.dtype != DType::kInt8 && !dtype_is_float(b.dtype))
    return Unsupported(std::string("gemm does not take ") + dtype_name(b.dtype) + " inputs");
  const int64_t K = trans_b ? b.shape[1] : b.shape[0], N = trans_b ? b.shape[0] : b.shape[1];
  const Operand B{b.data, b.dtype, b.shape[1], trans_b};
  char* out = static_cast<char*>(dst.data);
  // One table for the check and the packing (the ISA cap or the block config may change meanwhile).
  return with_blocked(kernels_for(active_isa()), b.dtype, [&](const auto& k) -> Status {
    const BGeometry g = b_geometry(k, K, N);
    const std::string want = layout_id(k, b.dtype, g);
    if (want != layout)
      return InvalidArgument("Expected the packing layout \"" + want + "\" of the kernels in use but received \"" + layout + "\"");
    if (int64_t(dst.nbytes()) != g.bytes())
      return InvalidArgument("Expected " + std::to_string(g.bytes()) + " bytes to pack into but received " + std::to_string(dst.nbytes()));
    if (K == 0 || N == 0) return Status::Ok();
    // units: (block, group of panels), a few per thread
    const int64_t npanels_max = ceil_div(g.nc, k.nr), groups = std::min<int64_t>(npanels_max, 4);
    const int64_t units = g.jblocks * g.kblocks * groups;
    std::atomic<int64_t> next{0};
    return parallel_run(static_cast<int>(std::min<int64_t>(units, num_threads())), [&](int, int) {
      for (int64_t u = next++; u < units; u = next++) {
        const int64_t blk = u / groups, grp = u % groups, jb = blk / g.kblocks, kb = blk % g.kblocks;
        const int64_t jc = jb * g.nc, ncb = std::min(g.nc, N - jc), pc = kb * k.kc, kcb = std::min<int64_t>(k.kc, K - pc);
        const int64_t npanels = ceil_div(ncb, k.nr), p0 = npanels * grp / groups, p1 = npanels * (grp + 1) / groups;
        if (p0 < p1)
          k.pack_b(B, pc, kcb, jc + p0 * k.nr, std::min(ncb, p1 * k.nr) - p0 * k.nr, out + blk * g.stride + p0 * k.b_panel_bytes(kcb));
      }
    });
  });
}

bool gemm_cpu_grouped_fits(int64_t group_size, int64_t K) {
  const BlockedKernels<int32_t>& g = kernels_for(active_isa()).i8_grouped;
  return g.name != nullptr && group_size > 0 && group_size % 32 == 0 && K % group_size == 0 && g.kc % group_size == 0 &&
         g.small_k_block() % group_size == 0;
}

bool gemm_cpu_set_blocks(const std::string& mode) {
  const int b = parse_blocks(mode.c_str());
  if (b < 0 && mode != "auto") return false;
  g_blocks.store(b);
  return true;
}

const char* gemm_cpu_blocks() {
  const Blocks b = blocks_in_use();
  return b == Blocks::kWide ? "wide" : b == Blocks::kXeon ? "xeon" : "split";
}

const char* gemm_cpu_last_kernel() { return g_ran.get(); }

const gemm_kernels::IsaKernels& gemm_kernels::active_kernels() { return kernels_for(active_isa()); }

}  // namespace tk

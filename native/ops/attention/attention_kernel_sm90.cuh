// attn_fwd_sm90<HD, T>: FlashAttention-3-style forward kernel for sm_90a (H100 / H200), wgmma + TMA.
//
// Compiled only for sm_90a (__CUDA_ARCH_FEAT_SM90_ALL): every other architecture gets an empty body,
// and the host (attention_cuda.cu) only launches it on compute capability 9.0 when asked for
// (TENSORKERN_ATTENTION_KERNEL=sm90 or debug.setPath('attention', 'cuda', 'sm90'); why it is opt-in:
// README, status table).
//
// Structure (attention_cuda_layout.h, "sm_90a kernel", has the index math the self-test checks):
//   CTA = 384 threads = 3 warp groups on 128 packed (query, GQA head) rows of one (batch, kv head) --
//   the sm80 kernel's row packing, CTA order (cta_tile) and split-KV scheme.
//   WG0, producer: setmaxnreg down to 40 (attention_configs.h); one thread loads the Q tile once (TMA, 5D map so the GQA
//     packing is a box: {64 elements, group heads, 128 / group queries, 1, 1}) on the q barrier, then
//     the K and V tiles of every key tile this CTA walks (4D maps {64, 128 keys, 1, 1}) into a ring of
//     stages: waits empty[s], arms full[s] with the transaction bytes, issues the loads. Out-of-range
//     rows / keys / head-dim columns are zero-filled by TMA.
//   WG1 / WG2, consumers: setmaxnreg up to 232 (ditto); consumer c owns packed rows [64c, 64c + 64). Per key
//     tile: wait full[s]; S = Q K^T with wgmma.m64n128k16 (Q and K from shared memory, K-major, 128B
//     swizzle, fp32 accumulators: 64 per thread); scale (folded with log2 e when there is no softcap
//     and no mask), softcap, mask (the sm80 kernel's apply_mask: global reads per element, only on
//     tiles that need it), length / causal visibility (only on tiles not wholly visible); online
//     softmax in registers with exp2 (rows are owned by quads of lanes: two shuffles per reduction);
//     rescale O; P converted to T in registers -- the accumulator pairs of S are exactly the register
//     A operand of the next wgmma (sm90_p_acc) --; O += P V with wgmma.m64nHDk16, P from registers, V
//     from shared memory N-major (imm-trans-b); wait for it and arrive on empty[s]. A consumer whose
//     64 rows see no key of the tile (causal) skips the math but still waits and arrives, so the
//     barrier counts never depend on the rows. With kvLengths, the padding keys that share a tile with
//     the last valid key get their V rows zeroed first (sm90_v_pad_rows; 0 x NaN would be NaN).
//   Epilogue: quad-reduce the row sums, normalize, store O (out dtype), LSE, or the split's partial
//     (flash-decoding; merged by attn_merge).
// Scope (everything else takes the sm80 kernel, with the reason in the recorded kernel name):
// head dim 33..128 (padded to 64 / 128), q / k / v float16 or bfloat16 of one dtype, the last dim
// contiguous, 16-byte aligned base pointers and 16-byte multiple strides (TMA), 128 % group == 0
// (the Q box), causal, kvLengths, GQA, softcap, LSE, masks (bool / additive, any broadcast) and KV
// splits are supported.
// Not done (yet): intra-warpgroup overlap of the softmax with the next tile's Q K^T and the
// ping-pong schedule between the two consumer warp groups; separate K and V barriers.
#pragma once
#include <cuda.h>
#include <cudaTypedefs.h>

#include <string>

#include "../../cuda/check.h"
#include "../../cuda/hopper.cuh"
#include "attention_kernel_sm80.cuh"

namespace tk::cuattn {
namespace sm90a {
using namespace ::tk::hopper;

// The wgmma instructions of this kernel, one wrapper per (shape, dtype), written out by the macros below:
// d[] are the fp32 accumulators (operands %0..), then the A registers or descriptor, the B
// descriptor, and scale-d = 1 (the callers zero the accumulators themselves).
#define TK_WG_D8(k) \
  "+f"(d[k]), "+f"(d[k + 1]), "+f"(d[k + 2]), "+f"(d[k + 3]), "+f"(d[k + 4]), "+f"(d[k + 5]), "+f"(d[k + 6]), "+f"(d[k + 7])
#define TK_WG_D32 TK_WG_D8(0), TK_WG_D8(8), TK_WG_D8(16), TK_WG_D8(24)
#define TK_WG_D64 TK_WG_D32, TK_WG_D8(32), TK_WG_D8(40), TK_WG_D8(48), TK_WG_D8(56)
#define TK_WG_R32 "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31}"
#define TK_WG_R64                                                                                                                        \
  "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31,%32,%33,%34,%" \
  "35,%36,%37,%38,%39,%40,%41,%42,%43,%44,%45,%46,%47,%48,%49,%50,%51,%52,%53,%54,%55,%56,%57,%58,%59,%60,%61,%62,%63}"
// S (64 x 128, fp32) += A (64 x 16, smem, K-major) * B (128 x 16, smem, K-major)^T.
#define TK_WG_SS128(TY, CT)                                                                                                       \
  __device__ __forceinline__ void wgmma_ss_m64n128k16(float(&d)[64], uint64_t da, uint64_t db, CT) {                              \
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\nwgmma.mma_async.sync.aligned.m64n128k16.f32." TY "." TY " " TK_WG_R64 \
                 ", %64, %65, p, 1, 1, 0, 0;\n}\n"                                                                                \
                 : TK_WG_D64                                                                                                      \
                 : "l"(da), "l"(db), "r"(1));                                                                                     \
  }
// O (64 x N, fp32) += A (64 x 16, registers: P) * B (16 x N, smem, N-major: V rows of keys); N = 64, 128.
#define TK_WG_RS64(TY, CT)                                                                                                       \
  __device__ __forceinline__ void wgmma_rs_m64n64k16(float(&d)[32], const uint32_t(&a)[4], uint64_t db, CT) {                    \
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\nwgmma.mma_async.sync.aligned.m64n64k16.f32." TY "." TY " " TK_WG_R32 \
                 ", {%32,%33,%34,%35}, %36, p, 1, 1, 1;\n}\n"                                                                    \
                 : TK_WG_D32                                                                                                     \
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db), "r"(1));                                                 \
  }
#define TK_WG_RS128(TY, CT)                                                                                                       \
  __device__ __forceinline__ void wgmma_rs_m64n128k16(float(&d)[64], const uint32_t(&a)[4], uint64_t db, CT) {                    \
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\nwgmma.mma_async.sync.aligned.m64n128k16.f32." TY "." TY " " TK_WG_R64 \
                 ", {%64,%65,%66,%67}, %68, p, 1, 1, 1;\n}\n"                                                                     \
                 : TK_WG_D64                                                                                                      \
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db), "r"(1));                                                  \
  }
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
TK_WG_SS128("f16", __half)
TK_WG_SS128("bf16", __nv_bfloat16)
TK_WG_RS64("f16", __half)
TK_WG_RS64("bf16", __nv_bfloat16)
TK_WG_RS128("f16", __half)
TK_WG_RS128("bf16", __nv_bfloat16)
#else  // other architectures: the kernel body is empty; the wrappers only need to exist
template <class CT>
__device__ __forceinline__ void wgmma_ss_m64n128k16(float (&)[64], uint64_t, uint64_t, CT) {}
template <class CT>
__device__ __forceinline__ void wgmma_rs_m64n64k16(float (&)[32], const uint32_t (&)[4], uint64_t, CT) {}
template <class CT>
__device__ __forceinline__ void wgmma_rs_m64n128k16(float (&)[64], const uint32_t (&)[4], uint64_t, CT) {}
#endif
#undef TK_WG_SS128
#undef TK_WG_RS64
#undef TK_WG_RS128
#undef TK_WG_D8
#undef TK_WG_D32
#undef TK_WG_D64
#undef TK_WG_R32
#undef TK_WG_R64

template <class T>
__device__ __forceinline__ void wgmma_rs(float (&d)[32], const uint32_t (&a)[4], uint64_t db) {
  wgmma_rs_m64n64k16(d, a, db, T());
}
template <class T>
__device__ __forceinline__ void wgmma_rs(float (&d)[64], const uint32_t (&a)[4], uint64_t db) {
  wgmma_rs_m64n128k16(d, a, db, T());
}

}  // namespace sm90a

template <int HD, class T>
__global__ void __launch_bounds__(kSm90Threads, 1)
    attn_fwd_sm90(const __grid_constant__ CUtensorMap map_q, const __grid_constant__ CUtensorMap map_k,
                  const __grid_constant__ CUtensorMap map_v, Args a) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  using namespace sm90a;
  constexpr Sm90Config C = sm90_config(HD);
  constexpr int BM = C.bm, BN = C.bn, ST = C.stages, PANELS = C.panels();
  constexpr int NS = BN / 2;   // S accumulators per thread
  constexpr int NO = HD / 2;   // O accumulators per thread
  constexpr int KS = HD / 16;  // k steps of S = Q K^T
  constexpr int PS = BN / 16;  // k steps of O = P V
  constexpr float kLog2e = 1.4426950408889634f;
  static_assert(BM == 64 * kSm90Consumers && kSm90Threads == 128 * (kSm90Consumers + 1), "two consumer warp groups of 64 rows");
  static_assert(BN == 128 && (HD == 64 || HD == 128), "the wgmma shapes instantiated below");
  extern __shared__ __align__(1024) uint8_t smem_raw[];
  uint8_t* smem = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(smem_raw) + 1023) & ~uintptr_t(1023));
  uint64_t* full = reinterpret_cast<uint64_t*>(smem + C.bar_offset());
  uint64_t* empty = full + ST;
  uint64_t* qbar = empty + ST;

  const int wg = threadIdx.x / 128, t = threadIdx.x % 128;
  const CtaWork cw = cta_work(a, BM, BN);
  const int64_t b = cw.b, hkv = cw.hkv, rows_total = cw.rows_total, r0 = cw.r0, L = cw.L, off = cw.off;
  const int64_t t_begin = cw.t_begin, t_end = cw.t_end;
  const int split = cw.split;

  if (threadIdx.x == 0) {
    for (int s = 0; s < ST; ++s) {
      mbar_init(&full[s], 1);
      mbar_init(&empty[s], kSm90Consumers * 128);
    }
    mbar_init(qbar, 1);
    mbar_init_fence();
  }
  __syncthreads();

  if (wg == 0) {
    setmaxnreg_dec<kSm90ProducerRegs>();
    if (t == 0) {
      mbar_expect_tx(qbar, C.q_bytes());
#pragma unroll
      for (int p = 0; p < PANELS; ++p) {
        const TmaCoord q = sm90_q_coord(p, r0, a.group, hkv, b);
        tma_load_5d(smem + p * BM * 128, &map_q, qbar, q.c[0], q.c[1], q.c[2], q.c[3], q.c[4]);
      }
      int64_t it = 0;
      for (int64_t kt = t_begin; kt < t_end; ++kt, ++it) {
        const int s = sm90_stage(it, ST);
        mbar_wait(&empty[s], sm90_empty_parity(it, ST));
        mbar_expect_tx(&full[s], 2 * C.kv_bytes());
#pragma unroll
        for (int p = 0; p < PANELS; ++p) {
          const TmaCoord k = sm90_kv_coord(p, kt, BN, hkv, b);
          tma_load_4d(smem + C.k_offset(s) + p * BN * 128, &map_k, &full[s], k.c[0], k.c[1], k.c[2], k.c[3]);
          tma_load_4d(smem + C.v_offset(s) + p * BN * 128, &map_v, &full[s], k.c[0], k.c[1], k.c[2], k.c[3]);
        }
      }
    }
    return;
  }

  setmaxnreg_inc<kSm90ConsumerRegs>();
  const int c = wg - 1, lane = t & 31, w = t >> 5;
  const int64_t row_base = r0 + 64 * c;  // this consumer's first packed row
  const int64_t row_lo = row_base + 16 * w + (lane >> 2), row_hi = row_lo + 8;
  const RowMap q_lo = row_to_query(row_lo, hkv, a.group), q_hi = row_to_query(row_hi, hkv, a.group);
  const int64_t wg_key_end = row_base < rows_total ? tile_key_end(row_base, row_base + 64 < rows_total ? row_base + 64 : rows_total,
                                                                  a.group, a.Sq, off, L, a.causal)
                                                   : 0;
  const float scale_log2 = a.scale * kLog2e;
  const bool plain = a.softcap <= 0.0f && a.mask == nullptr;  // scale folded with log2 e
  const uint32_t sbase = smem_u32(smem);

  float o[NO];
#pragma unroll
  for (int i = 0; i < NO; ++i) o[i] = 0.0f;
  float m_run[2] = {-INFINITY, -INFINITY};  // rows lo / hi, log2 units
  float l_run[2] = {0.0f, 0.0f};            // this thread's partial sums (quad-reduced at the end)

  mbar_wait(qbar, 0);
  int64_t it = 0;
  for (int64_t kt = t_begin; kt < t_end; ++kt, ++it) {
    const int s = sm90_stage(it, ST);
    mbar_wait(&full[s], sm90_full_parity(it, ST));
    const int64_t j0 = kt * BN;
    // kvLengths padding inside the tile: zero its V rows (both consumers, whatever their rows see; the
    // condition is the same for the whole CTA, and true for at most one tile).
    const RowRange pad = sm90_v_pad_rows(j0, BN, L, a.Sk);
    if (pad.end > pad.first) {
      constexpr int CHUNKS = HD / 8;  // 16-byte chunks per V row
      for (int q = t + 128 * c; q < (pad.end - pad.first) * CHUNKS; q += kSm90Consumers * 128) {
        const int row = pad.first + q / CHUNKS, e = (q % CHUNKS) * 8;
        *reinterpret_cast<uint4*>(smem + sm90_tile_addr(C.v_offset(s), BN, row, e)) = make_uint4(0, 0, 0, 0);  // 1024-aligned base
      }
      fence_proxy_async_smem();                                   // the zeros before the wgmma reads (async proxy)
      named_barrier_sync(kSm90PadBarrier, kSm90Consumers * 128);  // every row zeroed before either consumer's P V
    }
    if (j0 < wg_key_end) {
      // S = Q K^T
      float sc[NS];
#pragma unroll
      for (int i = 0; i < NS; ++i) sc[i] = 0.0f;
      wgmma_fence();
#pragma unroll
      for (int kk = 0; kk < KS; ++kk)
        wgmma_ss_m64n128k16(sc, cugemm::wgmma_desc(sbase + sm90_q_desc_off(C, c, kk), 16, kSm90Sbo, 1),
                            cugemm::wgmma_desc(sbase + C.k_offset(s) + sm90_k_desc_off(C, kk), 16, kSm90Sbo, 1), T());
      wgmma_commit();
      wgmma_wait0();

      // Scores in log2 units, visibility, running max.
      const bool all_vis = tile_all_visible(j0, BN, row_base, a.group, a.Sq, off, L, a.causal, a.mask != nullptr);
      float mx[2] = {m_run[0], m_run[1]};
#pragma unroll
      for (int i = 0; i < NS; ++i) {
        const int h = (i >> 1) & 1;
        float x;
        if (plain) {
          x = sc[i] * scale_log2;
        } else {
          x = sc[i] * a.scale;
          if (a.softcap > 0.0f) x = a.softcap * tanhf(x / a.softcap);
        }
        if (!all_vis) {
          const int64_t j = j0 + 8 * (i >> 2) + 2 * (lane & 3) + (i & 1);
          const RowMap& qm = h ? q_hi : q_lo;
          const int64_t row = h ? row_hi : row_lo;
          if (row >= rows_total || !key_visible(qm.i, j, off, L, a.causal))
            x = -INFINITY;
          else if (a.mask)
            x = apply_mask(a, x, b, qm.h, qm.i, j);
        }
        if (!plain) x *= kLog2e;
        sc[i] = x;
        mx[h] = fmaxf(mx[h], x);
      }
      float alpha[2];
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        mx[h] = fmaxf(mx[h], __shfl_xor_sync(0xffffffffu, mx[h], 1));
        mx[h] = fmaxf(mx[h], __shfl_xor_sync(0xffffffffu, mx[h], 2));
        alpha[h] = m_run[h] == -INFINITY ? 0.0f : exp2f(m_run[h] - mx[h]);
        m_run[h] = mx[h];
        l_run[h] *= alpha[h];
      }
#pragma unroll
      for (int i = 0; i < NO; ++i) o[i] *= alpha[(i >> 1) & 1];
      // P = exp2(s - m), packed to T: register r of key step kk = accumulators (8kk + 2r, +1).
      uint32_t pf[PS][4];
#pragma unroll
      for (int kk = 0; kk < PS; ++kk)
#pragma unroll
        for (int r = 0; r < 4; ++r) {
          const int i = sm90_p_acc(kk, r);
          const float m = m_run[r & 1];
          const float p0 = m == -INFINITY ? 0.0f : exp2f(sc[i] - m);
          const float p1 = m == -INFINITY ? 0.0f : exp2f(sc[i + 1] - m);
          l_run[r & 1] += p0 + p1;
          pf[kk][r] = pack2<T>(p0, p1);
        }

      // O += P V
      wgmma_fence();
#pragma unroll
      for (int kk = 0; kk < PS; ++kk)
        wgmma_rs<T>(o, pf[kk], cugemm::wgmma_desc(sbase + C.v_offset(s) + sm90_v_desc_off(C, kk), sm90_v_lbo(C), kSm90Sbo, 1));
      wgmma_commit();
      wgmma_wait0();
    }
    mbar_arrive(&empty[s]);  // this thread is done reading the stage
  }

  // Epilogue: quad-reduce l, normalize, store (or store the split's partial).
#pragma unroll
  for (int h = 0; h < 2; ++h) l_run[h] = quad_sum(l_run[h]);
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    if ((h ? row_hi : row_lo) >= rows_total) continue;
    const RowOut ro = row_out(a, l_run[h], m_run[h], b, h ? q_hi : q_lo, split);
#pragma unroll
    for (int i = 0; i < NO; ++i)
      if (((i >> 1) & 1) == h) ro.put(a, 8 * (i >> 2) + 2 * (lane & 3) + (i & 1), o[i]);
    if ((lane & 3) == 0) ro.put_lse();
  }
#endif
}

// ---- host side -------------------------------------------------------------------------------------
namespace sm90a {

// Why the sm90 kernel cannot take this problem ("" when it can). The TMA rules: base addresses 16-byte
// aligned, byte strides multiples of 16 below 2^40, the last dim contiguous (the op's layout rule);
// the Q box needs 128 % group == 0.
inline std::string unsupported_reason(const Args& a, int in_dtype, int k_dtype, int v_dtype) {
  if (in_dtype != int(DType::kFloat16) && in_dtype != int(DType::kBFloat16)) return "dtype is not float16 / bfloat16";
  if (k_dtype != in_dtype || v_dtype != in_dtype) return "q, k, v dtypes differ";
  const int hd = padded_head_dim(a.D);
  if (hd != 64 && hd != 128) return "head dim " + std::to_string(a.D) + " (sm90 takes 33..128)";
  if (a.group <= 0 || 128 % a.group != 0) return "GQA group " + std::to_string(a.group) + " does not divide 128";
  auto al16 = [](const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; };
  if (!al16(a.q) || !al16(a.k) || !al16(a.v)) return "q / k / v not 16-byte aligned";
  for (int64_t st : {a.qb, a.qh, a.qs, a.kb, a.kh, a.ks})
    if (st < 0 || (st * 2) % 16 != 0 || st * 2 >= (int64_t(1) << 40)) return "a stride is not a multiple of 16 bytes";
  if (a.Sq > INT32_MAX || a.Sk > INT32_MAX || a.B > INT32_MAX || a.Hkv > INT32_MAX) return "dimension over 2^31";
  return "";
}

// A tiled map (sm90_q_map / sm90_kv_map: dims, byte strides, box) with the 128B swizzle.
inline Status make_map(CUtensorMap* map, int dtype, const void* base, const TmaMap& m) {
  auto fn = encode_fn();
  if (!fn) return Status(Code::kCuda, "cuTensorMapEncodeTiled is not available from the driver");
  cuuint64_t dims[5], strides[4];
  cuuint32_t box[5];
  const cuuint32_t estr[5] = {1, 1, 1, 1, 1};
  for (int i = 0; i < m.rank; ++i) dims[i] = cuuint64_t(m.dims[i]), box[i] = cuuint32_t(m.box[i]);
  for (int i = 0; i + 1 < m.rank; ++i) strides[i] = cuuint64_t(m.strides[i]);
  CUresult r = fn(map, dtype == int(DType::kBFloat16) ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 : CU_TENSOR_MAP_DATA_TYPE_FLOAT16,
                  cuuint32_t(m.rank), const_cast<void*>(base), dims, strides, box, estr, CU_TENSOR_MAP_INTERLEAVE_NONE,
                  CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS) return Status(Code::kCuda, "cuTensorMapEncodeTiled failed with CUresult " + std::to_string(int(r)));
  return Status::Ok();
}

inline Status make_maps(const Args& a, CUtensorMap* mq, CUtensorMap* mk, CUtensorMap* mv) {
  TK_RETURN_IF_ERROR(make_map(mq, a.in_dtype, a.q, sm90_q_map(a.D, a.group, a.Sq, a.Hkv, a.B, a.qb, a.qh, a.qs)));
  const TmaMap kv = sm90_kv_map(a.D, a.Sk, a.Hkv, a.B, a.kb, a.kh, a.ks);
  TK_RETURN_IF_ERROR(make_map(mk, a.in_dtype, a.k, kv));
  return make_map(mv, a.in_dtype, a.v, kv);
}

}  // namespace sm90a

// The tensor maps of one launch (built by the host before it commits to the tier: a map the driver
// rejects sends the problem to the sm80 kernel with the reason).
struct Sm90Maps {
  CUtensorMap q, k, v;
};

// Launches attn_fwd_sm90 for padded head dim hd (64 / 128) on grid (row tiles * B * Hkv, splits).
inline Status launch_sm90(const Args& a, const Sm90Maps& m, int hd, dim3 grid, size_t smem_optin, cudaStream_t st) {
  const Sm90Config c = sm90_config(hd);
  if (size_t(c.smem_bytes()) > smem_optin)
    return Unsupported("attention: the sm90 kernel needs " + std::to_string(c.smem_bytes()) + " bytes of shared memory per block");
  const bool bf16 = a.in_dtype == int(DType::kBFloat16);
  auto k = hd == 64 ? (bf16 ? attn_fwd_sm90<64, __nv_bfloat16> : attn_fwd_sm90<64, __half>)
                    : (bf16 ? attn_fwd_sm90<128, __nv_bfloat16> : attn_fwd_sm90<128, __half>);
  TK_CUDA_CHECK(cudaFuncSetAttribute(k, cudaFuncAttributeMaxDynamicSharedMemorySize, c.smem_bytes()));
  k<<<grid, kSm90Threads, size_t(c.smem_bytes()), st>>>(m.q, m.k, m.v, a);
  TK_CUDA_CHECK(cudaGetLastError());
  return Status::Ok();
}

}  // namespace tk::cuattn

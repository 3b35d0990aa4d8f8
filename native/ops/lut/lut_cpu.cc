// The ISA-neutral CPU driver of lutMatmul: per token, the tables of every quad's 16 signed partial
// sums (and each group's sum of x) are built once, in one fixed order shared by every ISA; then the
// pool's threads take contiguous ranges of 16-row weight blocks and the ISA's kernel walks the bit
// planes, looking the tables up (lut_kernels.h).
#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>

#include "../../core/cpu_features.h"
#include "../../core/half.h"
#include "../../core/isa_table.h"
#include "../../core/kernel_record.h"
#include "../../core/scratch.h"
#include "../../core/thread_pool.h"
#include "lut.h"
#include "lut_kernels.h"

namespace tk {
namespace {

using lut_kernels::Kernels;

const Kernels& kernels_for(Isa isa) {
  return isa_table<Kernels>(isa, [](Isa isa, Kernels* k) {
    lut_kernels::get_kernels_scalar(k);
#if defined(__x86_64__) || defined(_M_X64)
    if (isa == Isa::kAvx2 || isa == Isa::kAvx512) lut_kernels::get_kernels_avx2(k);
    if (isa == Isa::kAvx512) lut_kernels::get_kernels_avx512(k);
#endif
#if defined(__aarch64__)
    if (isa == Isa::kNeon) lut_kernels::get_kernels_neon(k);
#endif
  });
}

CpuKernelRecord g_ran;

}  // namespace

// Tables [M][KQ][16] and group sums [M][G] of token rows [m0, m1) (lut_kernels.h): entry i of a quad
// is (±x0 ± x1) + (±x2 ± x3), + where bit t of i is set; x past the group's end reads as 0. The
// group sum adds x in k order.
void lut_build_tables(const TensorView& x, const LutLayout& L, int64_t m0, int64_t m1, float* tables, float* xsum) {
  const bool bf = x.dtype == DType::kBFloat16;
  for (int64_t m = m0; m < m1; ++m) {
    float* T = tables + m * L.KQ * 16;
    for (int64_t g = 0; g < L.G; ++g) {
      const int64_t k0 = g * L.gs, k1 = k0 + L.gs < L.K ? k0 + L.gs : L.K;
      float s = 0.0f;
      for (int64_t j = 0; j < L.Qg; ++j) {
        float v[4];
        for (int t = 0; t < 4; ++t) {
          const int64_t k = k0 + 4 * j + t;
          v[t] = k >= k1 ? 0.0f : bf ? bf16_to_f32(x.as<uint16_t>()[m * L.K + k]) : x.as<float>()[m * L.K + k];
        }
        for (int t = 0; t < 4 && k0 + 4 * j + t < k1; ++t) s += v[t];
        const float lo[4] = {-v[0] - v[1], v[0] - v[1], -v[0] + v[1], v[0] + v[1]};
        const float hi[4] = {-v[2] - v[3], v[2] - v[3], -v[2] + v[3], v[2] + v[3]};
        float* e = T + (g * L.Qg + j) * 16;
        for (int i = 0; i < 16; ++i) e[i] = lo[i & 3] + hi[i >> 2];
      }
      xsum[m * L.G + g] = s;
    }
  }
}

Status lut_cpu(const LutParams& p, const LutShape& s) {
  const LutLayout& L = s.L;
  if (s.M == 0 || L.N == 0) return Status::Ok();
  const Kernels& k = kernels_for(active_isa());
  g_ran.set(k.name);
  float* out = p.out.as<float>();
  // Tokens in chunks whose tables take at most 16 MiB (all of them at decode sizes).
  const int64_t per_token = L.KQ * 16 + L.G + 1;
  const int64_t chunk = std::max<int64_t>(1, std::min<int64_t>(s.M, (int64_t(1) << 22) / per_token));
  return guarded([&] {
    float* tables = static_cast<float*>(thread_scratch(ScratchSlot::kWork, size_t(chunk * per_token + 16) * sizeof(float)));
    float* xsum = tables + chunk * L.KQ * 16;
    for (int64_t c0 = 0; c0 < s.M; c0 += chunk) {
      const int64_t mc = std::min(chunk, s.M - c0);
      TensorView xc = p.x;
      xc.data = static_cast<char*>(p.x.data) + c0 * L.K * (dtype_bits(p.x.dtype) / 8);
      xc.numel = mc * L.K;
      xc.shape[0] = mc;
      // Few tokens' tables (decode) are built by one thread inside the kernels' region, the others
      // waiting for them: waking the pool's threads (~25 us here) then overlaps the build (~9 us
      // at K = 4096: the previous call's other thread read the tables, so each line is taken back).
      // M = 1, 2-bit, N = K = 4096, 2 threads, weights from DRAM: 0.151 -> 0.145 ms.
      const bool in_region = double(mc) * double(L.KQ) * 16.0 < kSerialWork;
      std::atomic<bool> built{!in_region};
      if (!in_region)
        TK_RETURN_IF_ERROR(parallel_for(mc, 1, [&](int64_t m0, int64_t m1) { lut_build_tables(xc, L, m0, m1, tables, xsum); }));
      lut_kernels::Args a;
      a.planes = static_cast<const uint32_t*>(p.planes.data);
      a.scales = p.scales.as<float>();
      a.tables = tables;
      a.xsum = xsum;
      a.M = mc, a.N = L.N, a.G = L.G, a.Qg = L.Qg, a.KQ = L.KQ, a.KC = L.KC, a.bits = L.bits;
      a.epi = s.epi;
      if (a.epi.c) a.epi.c += c0 * L.N;
      a.out = out + c0 * L.N;
      SerialScope serial(double(mc) * double(L.N) * double(L.KQ) * double(L.bits) * 4.0 < kSerialWork);
      // Threads take tasks of row blocks dynamically (a core slowed by other work takes fewer): about
      // 8 tasks per thread, whole tiles of 4 blocks, at most 32 blocks.
      const int64_t per = std::max<int64_t>(4, std::min<int64_t>(32, (L.NB / (8 * int64_t(num_threads())) + 3) / 4 * 4));
      const int64_t tasks = (L.NB + per - 1) / per;
      std::atomic<int64_t> next{0};
      TK_RETURN_IF_ERROR(parallel_run(int(std::min<int64_t>(tasks, 1 << 30)), [&](int tid, int) {
        if (tid == 0 && in_region) {
          lut_build_tables(xc, L, 0, mc, tables, xsum);
          built.store(true, std::memory_order_release);
        }
        // (A descheduled builder is not spun on for long: the waiter may share its core.)
        for (int i = 0; !built.load(std::memory_order_acquire); ++i) i < 4096 ? cpu_relax() : std::this_thread::yield();
        for (int64_t t = next.fetch_add(1); t < tasks; t = next.fetch_add(1)) k.rows(a, t * per, std::min(L.NB, (t + 1) * per));
      }));
    }
    return Status::Ok();
  });
}

std::string lut_last_kernel(const std::string& device) {
  if (device == "cuda") return lut_cuda_last_kernel();
  return g_ran.get();
}

}  // namespace tk

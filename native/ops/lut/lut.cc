#include "lut.h"

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>

#include "../../core/op_hooks.h"
#include "../../core/thread_pool.h"

namespace tk {

bool LutLayout::init(int64_t n, int64_t k, int64_t b, int64_t group) {
  N = n, K = k, bits = b, gs = group;
  if (n < 0 || k < 0 || b < 1 || b > 4 || group < 1) return false;
  G = k > 0 ? (k + group - 1) / group : 0;
  const int64_t span = group < k ? group : k;
  Qg = (span + 3) / 4;
  if (G > (int64_t(1) << 40) / (Qg > 0 ? Qg : 1)) return false;
  KQ = G * Qg;
  KC = (KQ + 7) / 8;
  NB = (n + 15) / 16;
  return NB == 0 || KC == 0 || NB <= (int64_t(1) << 56) / (KC * b * 64);
}

namespace {

Status lut_layout(int64_t N, int64_t K, int64_t bits, int64_t gs, LutLayout* L) {
  if (bits < 1 || bits > 4) return InvalidArgument("Expected lutMatmul bits in 1..4 but received " + std::to_string(bits));
  if (gs < 1) return InvalidArgument("Expected lutMatmul groupSize >= 1 but received " + std::to_string(gs));
  if (!L->init(N, K, bits, gs)) return InvalidArgument("lutMatmul: the weights' sizes overflow");
  return Status::Ok();
}

Status check_planes(const TensorView& planes, const LutLayout& L, const char* op) {
  if (planes.dtype != DType::kInt8 || planes.ndim != 1 || planes.numel != L.plane_bytes())
    return InvalidArgument(std::string("Expected ") + op + " planes as int8 [" + std::to_string(L.plane_bytes()) +
                           "] (N = " + std::to_string(L.N) + ", K = " + std::to_string(L.K) + ", bits = " + std::to_string(L.bits) +
                           ", groupSize = " + std::to_string(L.gs) + ") but received " + shape_str(planes));
  return Status::Ok();
}

}  // namespace

Status lut_validate(const LutParams& p, LutShape* s) {
  const TensorView &x = p.x, &sc = p.scales, &out = p.out;
  if ((x.dtype != DType::kFloat32 && x.dtype != DType::kBFloat16) || x.ndim != 2)
    return InvalidArgument("Expected lutMatmul x as a float32 or bfloat16 [rows, K] tensor but received " + shape_str(x) + " " +
                           dtype_name(x.dtype));
  s->M = x.shape[0];
  TK_RETURN_IF_ERROR(lut_layout(p.N, x.shape[1], p.bits, p.group_size, &s->L));
  if (sc.dtype != DType::kFloat32 || sc.ndim != 1 || sc.numel != s->L.scale_count())
    return InvalidArgument("Expected lutMatmul scales as float32 [" + std::to_string(s->L.scale_count()) +
                           "] (ceil(N / 16) * G * 16) but received " + shape_str(sc));
  TK_RETURN_IF_ERROR(check_planes(p.planes, s->L, "lutMatmul"));
  if (out.dtype != DType::kFloat32 || out.ndim != 2 || out.shape[0] != s->M || out.shape[1] != s->L.N)
    return InvalidArgument("Expected lutMatmul out as float32 [" + std::to_string(s->M) + ", " + std::to_string(s->L.N) +
                           "] but received " + shape_str(out));
  TK_RETURN_IF_ERROR(make_matmul_epilogue("lutMatmul", out, p.bias, p.c, p.alpha, p.beta, &s->epi));
  return check_same_device("lutMatmul", x.device, {&p.planes, &sc, &out, &p.bias, &p.c});
}

Status lut_matmul(const LutParams& p) {
  LutShape s;
  TK_RETURN_IF_ERROR(lut_validate(p, &s));
  return lut_run(p, s);
}

Status lut_run(const LutParams& p, const LutShape& s) {
  if (p.x.device.is_cuda()) return lut_cuda(p, s, p.x.device.index);
  return lut_cpu(p, s);
}

Status lut_quantize_validate(const LutQuantizeParams& p, LutLayout* L) {
  const TensorView& w = p.w;
  if (w.dtype != DType::kFloat32 || w.ndim != 2 || w.device.is_cuda())
    return InvalidArgument("Expected quantizeWeights w as a float32 [N, K] host tensor but received " + shape_str(w));
  TK_RETURN_IF_ERROR(lut_layout(w.shape[0], w.shape[1], p.bits, p.group_size, L));
  TK_RETURN_IF_ERROR(check_planes(p.planes, *L, "quantizeWeights"));
  if (p.scales.dtype != DType::kFloat32 || p.scales.ndim != 1 || p.scales.numel != L->scale_count())
    return InvalidArgument("Expected quantizeWeights scales as float32 [" + std::to_string(L->scale_count()) + "] but received " +
                           shape_str(p.scales));
  return check_same_device("quantizeWeights", w.device, {&p.planes, &p.scales});
}

Status lut_quantize(const LutQuantizeParams& p, const LutLayout& L) {
  const float* w = p.w.as<float>();
  uint32_t* planes = static_cast<uint32_t*>(p.planes.data);
  float* scales = p.scales.as<float>();
  const int b = int(L.bits);
  const int64_t words_per_block = L.KC * b * 16;
  return parallel_for(L.NB, 1, [&](int64_t nb0, int64_t nb1) {
    for (int64_t nb = nb0; nb < nb1; ++nb) {
      uint32_t* blk = planes + nb * words_per_block;
      if (words_per_block > 0) std::memset(blk, 0, size_t(words_per_block) * 4);
      if (L.G > 0) std::memset(scales + nb * L.G * 16, 0, size_t(L.G) * 16 * 4);
      for (int64_t n = nb * 16; n < L.N && n < nb * 16 + 16; ++n) {
        const int r = int(n - nb * 16);
        const float* row = w + n * L.K;
        for (int64_t g = 0; g < L.G; ++g) {
          const int64_t k0 = g * L.gs, k1 = k0 + L.gs < L.K ? k0 + L.gs : L.K;
          float s;
          if (b == 1) {
            double sum = 0;
            for (int64_t k = k0; k < k1; ++k) sum += std::fabs(double(row[k]));
            s = float(sum / double(k1 - k0));
          } else {
            float mx = 0.0f;
            for (int64_t k = k0; k < k1; ++k) mx = std::fmax(mx, std::fabs(row[k]));
            s = mx / float((1 << (b - 1)) - 1);
          }
          scales[(nb * L.G + g) * 16 + r] = s;
          const int lo = -(1 << (b - 1)), hi = (1 << (b - 1)) - 1;
          for (int64_t k = k0; k < k1; ++k) {
            int u;
            if (b == 1) {
              u = row[k] >= 0.0f ? 1 : 0;
            } else {
              int q = 0;
              if (s != 0.0f) {
                const float t = std::nearbyint(row[k] / s);
                q = t < float(lo) ? lo : t > float(hi) ? hi : int(t);
              }
              u = q + (1 << (b - 1));
            }
            const int64_t qi = g * L.Qg + (k - k0) / 4;
            const int bit = int((k - k0) % 4) + 4 * int(qi % 8);
            for (int pl = 0; pl < b; ++pl)
              if ((u >> pl) & 1) blk[((qi / 8) * b + pl) * 16 + r] |= uint32_t(1) << bit;
          }
        }
      }
    }
  });
}

namespace {
// The CUDA kernel is opt-in until it has run on a GPU: TENSORKERN_LUT_KERNEL=simt, or
// debug.setPath('lut', 'cuda', 'simt').
std::atomic<bool> g_cuda_on{[] {
  const char* e = std::getenv("TENSORKERN_LUT_KERNEL");
  return e != nullptr && std::strcmp(e, "simt") == 0;
}()};
}  // namespace

bool lut_cuda_enabled() { return g_cuda_on.load(std::memory_order_relaxed); }

Status lut_set_path(const std::string& device, const std::string& path, int splits, std::string* in_use) {
  if (device == "cpu") {
    if (path != "auto" || splits != 0) return unknown_path("lut", device, path, splits, "'auto' (splits 0)");
    *in_use = "auto";
  } else if (device == "cuda") {
    if (splits != 0 || (path != "auto" && path != "simt")) return unknown_path("lut", device, path, splits, "'auto' or 'simt' (splits 0)");
    g_cuda_on.store(path == "simt");
    *in_use = path;
  } else {
    return unknown_device("lut", device);
  }
  return Status::Ok();
}

#if !defined(TK_WITH_CUDA)
Status lut_cuda(const LutParams&, const LutShape&, int) {
  return NoGpu("lutMatmul on a CUDA device: this tensorkern binary was built without CUDA");
}
std::string lut_cuda_last_kernel() { return ""; }
#endif

}  // namespace tk

// monarch_project: the closest Monarch factors of a dense W [nOut, nIn] (monarch.h). With
// k = l = blocks, q = l, r = k, the product's entry W[d*l + a, i*p + t] is w2[a, d, i] * w1[i, a, t]:
// the s x p sub-block G_(a,i)[d, t] = W[d*l + a, i*p + t] is rank one, so the Frobenius-closest
// Monarch matrix takes each sub-block's best rank-one approximation (Eckart-Young), found here by
// power iteration in float64, and the squared error is the sum of the sub-blocks' residuals.
#include <cmath>
#include <vector>

#include "../../core/half.h"
#include "../../core/thread_pool.h"
#include "monarch.h"

namespace tk {
namespace {

double load(const TensorView& w, int64_t idx) {
  switch (w.dtype) {
    case DType::kFloat16: return f16_to_f32(w.as<const uint16_t>()[idx]);
    case DType::kBFloat16: return bf16_to_f32(w.as<const uint16_t>()[idx]);
    default: return w.as<const float>()[idx];
  }
}

constexpr int kMaxIters = 1000;
constexpr double kTol = 1e-13;  // relative change of sigma^2 that ends the iteration

// The top singular pair of G [s, p] (row-major): v unit [p], u = G v [s]. Returns ||G - u v^T||^2.
double rank_one(const std::vector<double>& G, int64_t s, int64_t p, std::vector<double>* u, std::vector<double>* v) {
  double total = 0, best = -1;
  int64_t best_row = 0;
  for (int64_t d = 0; d < s; ++d) {
    double n2 = 0;
    for (int64_t t = 0; t < p; ++t) n2 += G[d * p + t] * G[d * p + t];
    total += n2;
    if (n2 > best) best = n2, best_row = d;
  }
  u->assign(s, 0.0);
  v->assign(p, 0.0);
  if (total == 0) return 0;
  // Start from the heaviest row: never orthogonal to the top right singular vector unless G = 0.
  double norm = std::sqrt(best);
  for (int64_t t = 0; t < p; ++t) (*v)[t] = G[best_row * p + t] / norm;
  double sigma2 = 0;
  std::vector<double> w(p);
  for (int it = 0; it < kMaxIters; ++it) {
    double un = 0;
    for (int64_t d = 0; d < s; ++d) {
      double acc = 0;
      for (int64_t t = 0; t < p; ++t) acc += G[d * p + t] * (*v)[t];
      (*u)[d] = acc;
      un += acc * acc;
    }
    const double prev = sigma2;
    sigma2 = un;
    if (it > 0 && std::fabs(sigma2 - prev) <= kTol * sigma2) break;
    std::fill(w.begin(), w.end(), 0.0);
    for (int64_t d = 0; d < s; ++d)
      for (int64_t t = 0; t < p; ++t) w[t] += G[d * p + t] * (*u)[d];
    double wn = 0;
    for (double x : w) wn += x * x;
    wn = std::sqrt(wn);
    if (wn == 0) break;
    for (int64_t t = 0; t < p; ++t) (*v)[t] = w[t] / wn;
  }
  // u = G v for the final v, then the exact residual.
  double res = 0;
  for (int64_t d = 0; d < s; ++d) {
    double acc = 0;
    for (int64_t t = 0; t < p; ++t) acc += G[d * p + t] * (*v)[t];
    (*u)[d] = acc;
  }
  for (int64_t d = 0; d < s; ++d)
    for (int64_t t = 0; t < p; ++t) {
      const double e = G[d * p + t] - (*u)[d] * (*v)[t];
      res += e * e;
    }
  return res;
}

}  // namespace

Status monarch_project_validate(const MonarchProjectParams& p) {
  const TensorView& w = p.w;
  if (!dtype_is_float(w.dtype))
    return TypeMismatch(std::string("Expected w of dtype float32, float16 or bfloat16 but received ") + dtype_name(w.dtype));
  if (w.ndim != 2) return InvalidArgument("Expected w of rank 2 [nOut, nIn] but received " + shape_str(w));
  const int64_t b = p.blocks, n_out = w.shape[0], n_in = w.shape[1];
  if (b < 1 || n_in % b != 0 || n_out % b != 0)
    return InvalidArgument("Expected blocks >= 1 dividing both dims of w " + shape_str(w) + " but received " + std::to_string(b));
  auto check = [](const TensorView& t, const char* name, int64_t d0, int64_t d1, int64_t d2) -> Status {
    if (t.dtype != DType::kFloat32)
      return TypeMismatch(std::string("Expected ") + name + " of dtype float32 but received " + dtype_name(t.dtype));
    if (t.ndim != 3 || t.shape[0] != d0 || t.shape[1] != d1 || t.shape[2] != d2)
      return InvalidArgument(std::string("Expected ") + name + " of shape [" + std::to_string(d0) + ", " + std::to_string(d1) + ", " +
                             std::to_string(d2) + "] but received " + shape_str(t));
    return Status::Ok();
  };
  TK_RETURN_IF_ERROR(check(p.w1, "w1", b, b, n_in / b));
  TK_RETURN_IF_ERROR(check(p.w2, "w2", b, n_out / b, b));
  if (p.err.dtype != DType::kFloat32 || p.err.numel != 1)
    return InvalidArgument("Expected err a float32 tensor of one element but received " + shape_str(p.err));
  for (const TensorView* t : {&w, &p.w1, &p.w2, &p.err})
    if (!t->device.is_cpu()) return Unsupported("projectMonarch runs on the CPU: pass host tensors");
  return Status::Ok();
}

Status monarch_project_cpu(const MonarchProjectParams& p) {
  const int64_t b = p.blocks, k = b, l = b, n_in = p.w.shape[1], n_out = p.w.shape[0];
  const int64_t pp = n_in / k, s = n_out / l;
  float* w1 = p.w1.as<float>();
  float* w2 = p.w2.as<float>();
  std::vector<double> res(size_t(k * l), 0.0);
  double total = 0;
  for (int64_t i = 0; i < p.w.numel; ++i) total += load(p.w, i) * load(p.w, i);
  SerialScope serial(double(p.w.numel) * 64 < kSerialWork);
  TK_RETURN_IF_ERROR(parallel_for(k * l, 1, [&](int64_t j0, int64_t j1) {
    std::vector<double> G(size_t(s * pp)), u, v;
    for (int64_t j = j0; j < j1; ++j) {
      const int64_t a = j / k, i = j % k;
      for (int64_t d = 0; d < s; ++d)
        for (int64_t t = 0; t < pp; ++t) G[d * pp + t] = load(p.w, (d * l + a) * n_in + i * pp + t);
      res[j] = rank_one(G, s, pp, &u, &v);
      // Split the singular value evenly between the factors: w2 = u / sqrt(sigma), w1 = v * sqrt(sigma).
      double sigma = 0;
      for (double x : u) sigma += x * x;
      sigma = std::sqrt(std::sqrt(sigma));  // sqrt(||u||)
      for (int64_t d = 0; d < s; ++d) w2[(a * s + d) * k + i] = sigma > 0 ? float(u[d] / sigma) : 0.0f;
      for (int64_t t = 0; t < pp; ++t) w1[(i * l + a) * pp + t] = float(v[t] * sigma);
    }
  }));
  double r2 = 0;
  for (double x : res) r2 += x;
  p.err.as<float>()[0] = total > 0 ? float(std::sqrt(r2 / total)) : 0.0f;
  return Status::Ok();
}

}  // namespace tk

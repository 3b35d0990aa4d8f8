// libFuzzer harness: CSR validation and the SpMM CPU kernels (spmm(), as the addon calls it after
// unwrapping) on arbitrary row_ptr / col_idx (int32 and int64), values, B / C / out shapes and dtypes,
// every kernel family (scalar, AVX2, AVX-512 as the CPU allows) and 1..3 threads. Each array has its
// own exact-size heap block (ASan: any read past it is reported). Every input must either return a
// non-OK Status or OK with a result equal to a plain reference computed here; the oracle decides
// which from the input alone. Data are small integers, so the float32 result is exact.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "../../native/core/cpu_features.h"
#include "../../native/core/thread_pool.h"
#include "../../native/ops/spmm/spmm.h"

namespace {

[[noreturn]] void die(const std::string& what, const tk::Status& s) {
  std::fprintf(stderr, "FINDING: %s (status %d: %s)\n", what.c_str(), static_cast<int>(s.code()), s.message().c_str());
  std::abort();
}

// A view with its own heap block of exactly nbytes (a null block for zero bytes).
struct Owned {
  tk::TensorView v;
  std::unique_ptr<uint8_t[]> mem;
};

Owned make(tk::DType dt, std::vector<int64_t> dims) {
  Owned o;
  tk::Status s = tk::make_shape(dt, dims.data(), static_cast<int>(dims.size()), &o.v);
  if (!s.ok()) die("harness: make_shape", s);
  const size_t n = o.v.nbytes();
  if (n > 0) {
    o.mem.reset(new uint8_t[n]);
    std::memset(o.mem.get(), 0, n);
  }
  o.v.data = o.mem.get();
  o.v.device = tk::Device::cpu();
  return o;
}

int64_t get_idx(const tk::TensorView& t, int64_t i) { return t.dtype == tk::DType::kInt64 ? t.as<int64_t>()[i] : t.as<int32_t>()[i]; }
void set_idx(tk::TensorView& t, int64_t i, int64_t x) {
  if (t.dtype == tk::DType::kInt64)
    t.as<int64_t>()[i] = x;
  else
    t.as<int32_t>()[i] = static_cast<int32_t>(x);
}

int64_t pick_bad(FuzzedDataProvider& f, int64_t nnz, int64_t cols) {
  switch (f.ConsumeIntegralInRange<int>(0, 9)) {
    case 0: return -1;
    case 1: return nnz + 1;
    case 2: return cols;
    case 3: return cols + 1;
    case 4: return INT32_MIN;
    case 5: return INT32_MAX;
    case 6: return INT64_MIN;
    case 7: return INT64_MAX;
    case 8: return f.ConsumeIntegralInRange<int64_t>(-4, nnz + 4);
    default: return f.ConsumeIntegral<int64_t>();
  }
}

const char* const kIsas[] = {"scalar", "avx2", "avx512"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider f(data, size);
  tk::set_isa_cap(kIsas[f.ConsumeIntegralInRange<int>(0, 2)]);
  tk::set_num_threads(f.ConsumeIntegralInRange<int>(1, 3));
  const bool idx64 = f.ConsumeBool();
  const tk::DType it = idx64 ? tk::DType::kInt64 : tk::DType::kInt32;
  const bool big = f.ConsumeIntegralInRange<int>(0, 15) == 0;  // sometimes large enough for several threads
  const int64_t rows = f.ConsumeIntegralInRange<int64_t>(0, big ? 300 : 40);
  const int64_t cols = f.ConsumeIntegralInRange<int64_t>(0, 40);
  int64_t n;
  switch (f.ConsumeIntegralInRange<int>(0, 3)) {
    case 0: n = f.ConsumeIntegralInRange<int64_t>(0, 20); break;
    case 1: n = f.ConsumeIntegralInRange<int64_t>(20, 140); break;
    case 2: n = 16 * f.ConsumeIntegralInRange<int64_t>(0, 16) + f.ConsumeIntegralInRange<int64_t>(-1, 1); break;
    default: n = big ? f.ConsumeIntegralInRange<int64_t>(300, 1100) : 64; break;
  }
  if (n < 0) n = 0;
  const int64_t nnz = f.ConsumeIntegralInRange<int64_t>(0, big ? 600 : 120);

  // Faults in the parts spmm_validate checks (shapes, dtypes, devices, beta without c): mostly none.
  const int fault = f.ConsumeIntegralInRange<int>(0, 40);
  auto d = [&](int k) { return fault == k ? f.ConsumeIntegralInRange<int64_t>(-1, 2) * 2 - 1 : 0; };  // -3, -1, 1, 3
  auto dim = [](int64_t x, int64_t dx) { return x + dx < 0 ? x + 1 : x + dx; };
  Owned rp = fault == 1 ? make(it, {rows + 1, 1}) : make(fault == 2 ? tk::DType::kFloat32 : it, {dim(rows + 1, d(3))});
  Owned ci = make(fault == 4 ? (idx64 ? tk::DType::kInt32 : tk::DType::kInt64) : it,
                  fault == 5 ? std::vector<int64_t>{nnz, 1} : std::vector<int64_t>{dim(nnz, d(6))});
  Owned va = make(fault == 7 ? tk::DType::kFloat16 : tk::DType::kFloat32, {dim(nnz, d(8))});
  Owned b = make(fault == 9 ? tk::DType::kBFloat16 : tk::DType::kFloat32,
                 fault == 10 ? std::vector<int64_t>{cols, n, 1} : std::vector<int64_t>{dim(cols, d(11)), n});
  const bool has_c = f.ConsumeBool();
  const bool in_place = has_c && f.ConsumeBool();
  Owned c = has_c ? make(fault == 12 ? tk::DType::kInt32 : tk::DType::kFloat32, {dim(rows, d(13)), n}) : Owned{};
  if (!has_c) c.v.ndim = -1;
  Owned out = make(fault == 14 ? tk::DType::kFloat16 : tk::DType::kFloat32, {rows, dim(n, d(15))});
  const bool shapes_ok = fault == 0 || fault > 15 || (!has_c && (fault == 12 || fault == 13));  // c's faults need a c

  // A valid CSR to start from: row lengths from the input, columns from the input.
  const int64_t rp_len = rp.v.numel, ci_len = ci.v.numel, va_len = va.v.numel;
  if (rp.v.dtype == it && rp_len == rows + 1) {
    std::vector<int64_t> cut(rows + 1, 0);
    for (int64_t r = 1; r < rows; ++r) cut[r] = f.ConsumeIntegralInRange<int64_t>(0, nnz);
    cut[rows] = nnz;
    if (rows >= 2) std::sort(cut.begin() + 1, cut.end() - 1);
    for (int64_t r = 0; r <= rows; ++r) set_idx(rp.v, r, rows == 0 ? 0 : cut[r]);
  }
  if (ci.v.dtype == it)
    for (int64_t p = 0; p < ci_len; ++p) set_idx(ci.v, p, cols > 0 ? f.ConsumeIntegralInRange<int64_t>(0, cols - 1) : 0);
  if (va.v.dtype == tk::DType::kFloat32)
    for (int64_t p = 0; p < va_len; ++p) va.v.as<float>()[p] = static_cast<float>(f.ConsumeIntegralInRange<int>(-4, 4));
  const uint32_t seed = f.ConsumeIntegral<uint8_t>();
  if (b.v.dtype == tk::DType::kFloat32)
    for (int64_t i = 0; i < b.v.numel; ++i) b.v.as<float>()[i] = static_cast<float>(static_cast<int>((i * 7 + seed) % 9) - 4);
  if (has_c && c.v.dtype == tk::DType::kFloat32)
    for (int64_t i = 0; i < c.v.numel; ++i) c.v.as<float>()[i] = static_cast<float>(static_cast<int>((i * 5 + seed) % 7) - 3);

  // Corrupt a few indices (the memory-safety part).
  const int ncorrupt = f.ConsumeIntegralInRange<int>(0, 3);
  for (int k = 0; k < ncorrupt; ++k) {
    const bool in_rp = f.ConsumeBool();
    tk::TensorView& t = in_rp ? rp.v : ci.v;
    if (t.dtype != it || t.numel == 0) continue;
    set_idx(t, f.ConsumeIntegralInRange<int64_t>(0, t.numel - 1), pick_bad(f, nnz, cols));
  }

  const float alphas[] = {1.0f, -1.0f, 2.0f, 0.5f, 0.0f};
  const float betas[] = {0.0f, 1.0f, -2.0f, 0.5f};
  tk::SpmmParams p;
  p.row_ptr = rp.v;
  p.col_idx = ci.v;
  p.values = va.v;
  p.rows = rows;
  p.cols = cols;
  p.b = b.v;
  p.c = c.v;
  p.out = in_place && fault != 14 && fault != 15 ? c.v : out.v;
  p.alpha = alphas[f.ConsumeIntegralInRange<int>(0, 4)];
  p.beta = betas[f.ConsumeIntegralInRange<int>(0, 3)];
  if (fault == 16) p.b.device = tk::Device::cuda(0);
  if (fault == 17) p.out.device = tk::Device::cuda(0);
  if (fault == 18) p.values.device = tk::Device::cuda(0);
  if (fault == 19) p.rows = -1 - rows;  // only reachable by calling the core directly
  const bool beta_ok = p.beta == 0.0f || has_c;
  const bool dev_ok = fault < 16 || fault > 18;

  // The oracle.
  bool csr_ok = true;
  if (shapes_ok) {
    const auto R = [&](int64_t r) { return get_idx(rp.v, r); };
    if (R(0) != 0 || R(rows) != nnz) csr_ok = false;
    for (int64_t r = 0; csr_ok && r < rows; ++r) {
      if (R(r) < 0 || R(r) > R(r + 1) || R(r + 1) > nnz) csr_ok = false;
      for (int64_t q = R(r); csr_ok && q < R(r + 1); ++q)
        if (get_idx(ci.v, q) < 0 || get_idx(ci.v, q) >= cols) csr_ok = false;
    }
  }
  const bool valid = shapes_ok && beta_ok && dev_ok && fault != 19 && csr_ok;
  std::vector<float> ref;
  if (valid) {
    ref.assign(rows * n, 0.0f);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (int64_t q = get_idx(rp.v, r); q < get_idx(rp.v, r + 1); ++q)
          acc += double(va.v.as<float>()[q]) * b.v.as<float>()[get_idx(ci.v, q) * n + j];
        double x = double(p.alpha) * acc;
        if (p.beta != 0.0f) x += double(p.beta) * c.v.as<float>()[r * n + j];
        ref[r * n + j] = static_cast<float>(x);
      }
  }

  if (std::getenv("FUZZ_DEBUG")) {  // describe the input (for writing a regression test)
    std::fprintf(stderr, "isa=%s threads=%d rows=%lld cols=%lld n=%lld nnz=%lld fault=%d c=%d inplace=%d alpha=%g beta=%g valid=%d\n",
                 tk::isa_name(tk::active_isa()), tk::num_threads(), (long long)rows, (long long)cols, (long long)n, (long long)nnz, fault,
                 has_c, in_place, p.alpha, p.beta, valid);
    std::fprintf(stderr, "rowPtr(%lld):", (long long)rp.v.numel);
    for (int64_t i = 0; i < rp.v.numel && rp.v.dtype == it; ++i) std::fprintf(stderr, " %lld", (long long)get_idx(rp.v, i));
    std::fprintf(stderr, "\ncolIdx(%lld):", (long long)ci.v.numel);
    for (int64_t i = 0; i < ci.v.numel && ci.v.dtype == it; ++i) std::fprintf(stderr, " %lld", (long long)get_idx(ci.v, i));
    std::fprintf(stderr, "\n");
  }
  const tk::Status s = tk::spmm(p);
  if (valid) {
    if (!s.ok()) die("a valid product was rejected", s);
    const float* o = p.out.as<float>();
    for (int64_t i = 0; i < rows * n; ++i)
      if (!(o[i] == ref[i])) die("wrong result at " + std::to_string(i) + ": " + std::to_string(o[i]) + " vs " + std::to_string(ref[i]), s);
  } else if (s.ok()) {
    // An empty product (no output column) reads no index: the kernels are not run, so index
    // contents they would reject are not looked at. Anything else invalid must be an error.
    const bool empty_product = shapes_ok && beta_ok && dev_ok && fault != 19 && n == 0;
    if (!empty_product) die("an invalid product was accepted", s);
  } else if (s.message().empty()) {
    die("an error without a message", s);
  }
  return 0;
}

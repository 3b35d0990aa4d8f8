// libFuzzer harness: the addon's tensor-descriptor unwrapping (native/core/tensor_check.cc, called by
// native/napi/tensor_arg.cc's unwrap_tensor) on arbitrary dtype codes, dims given as JS numbers,
// byte lengths, offsets and detached buffers. An independent oracle (128-bit arithmetic) says what
// must be accepted; every accepted view is read byte by byte (ASan: no overreach) and its numel /
// nbytes must be exact (a huge shape must be rejected, never wrapped).
#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "../../native/core/tensor_check.h"

namespace {

[[noreturn]] void die(const char* what, const tk::Status& s) {
  std::fprintf(stderr, "FINDING: %s (status %d: %s)\n", what, static_cast<int>(s.code()), s.message().c_str());
  std::abort();
}

double pick_number(FuzzedDataProvider& f) {
  switch (f.ConsumeIntegralInRange<int>(0, 5)) {
    case 0: return f.ConsumeIntegralInRange<int>(0, 16);
    case 1: return f.ConsumeIntegralInRange<int>(0, 4096);
    case 2: {  // near a power of two: the overflow edges
      const int e = f.ConsumeIntegralInRange<int>(0, 64);
      return std::ldexp(1.0, e) + f.ConsumeIntegralInRange<int>(-2, 2);
    }
    case 3: return static_cast<double>(f.ConsumeIntegral<uint64_t>());
    case 4: return f.ConsumeFloatingPoint<double>();  // NaN, Inf, negatives, fractions
    default: return f.ConsumeIntegralInRange<int>(-2, 2) + 0.5 * f.ConsumeBool();
  }
}

bool js_int_in(double d, double lo, double hi) { return d >= lo && d <= hi && d == std::floor(d); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider f(data, size);
  const double code = f.ConsumeBool() ? f.ConsumeIntegralInRange<int>(-1, 8) : pick_number(f);
  const size_t ndim = f.ConsumeIntegralInRange<size_t>(0, 10);
  double dims[16] = {};
  for (size_t i = 0; i < ndim; ++i) dims[i] = pick_number(f);

  // The oracle: what unwrap_tensor must accept.
  bool expect = js_int_in(code, 0, tk::kNumDTypes - 1) && ndim <= size_t(tk::kMaxDims);
  unsigned __int128 numel = 1;
  for (size_t i = 0; expect && i < ndim; ++i) {
    if (!js_int_in(dims[i], 0, 9007199254740991.0))
      expect = false;
    else if (numel != 0) {
      numel *= static_cast<unsigned __int128>(dims[i]);
      if (numel > (unsigned __int128)1 << 53) expect = false;  // beyond 2^53 elements: rejected
    }
  }
  tk::DType dt = expect ? static_cast<tk::DType>(static_cast<int>(code)) : tk::DType::kFloat32;
  if (expect && dt == tk::DType::kInt4 && ndim > 0 && static_cast<int64_t>(dims[ndim - 1]) % 2 != 0) expect = false;

  tk::TensorView v;
  const tk::Status s = tk::shape_from_numbers(code, dims, ndim, "t", &v);
  if (s.ok() != expect) die(expect ? "a valid shape was rejected" : "an invalid shape was accepted", s);
  if (!s.ok()) {
    if (s.message().empty()) die("an error without a message", s);
    return 0;
  }
  if (v.dtype != dt || v.ndim != int(ndim) || static_cast<unsigned __int128>(v.numel) != numel) die("wrong numel / dtype / ndim", s);
  for (size_t i = 0; i < ndim; ++i)
    if (v.shape[i] != static_cast<int64_t>(dims[i])) die("wrong shape", s);
  const int bits = tk::dtype_bits(dt);
  const unsigned __int128 bytes = bits >= 8 ? numel * (bits / 8) : (numel + 1) / 2;
  if (static_cast<unsigned __int128>(v.nbytes()) != bytes) die("nbytes wrapped", s);

  // Storage: usually the right length, sometimes not; sometimes detached; any offset.
  const size_t need = v.nbytes();
  size_t len;
  switch (f.ConsumeIntegralInRange<int>(0, 3)) {
    case 0: len = need; break;
    case 1: len = need + f.ConsumeIntegralInRange<int>(-3, 3); break;
    case 2: len = f.ConsumeIntegralInRange<size_t>(0, 4096); break;
    default: len = need > (1u << 20) ? need : f.ConsumeIntegralInRange<size_t>(0, 64); break;
  }
  const size_t offset = f.ConsumeIntegralInRange<size_t>(0, 15);
  const bool detached = f.ConsumeIntegralInRange<int>(0, 7) == 0;
  // Only ever hand over memory that exists (a real ArrayBuffer's length is true): beyond 1 MiB the
  // "buffer" is detached (base null), which must still be rejected when bytes are needed.
  const bool too_big = len > (1u << 20);
  std::unique_ptr<uint8_t[]> mem(detached || too_big ? nullptr : new uint8_t[offset + len]);
  if (mem) std::memset(mem.get(), 0xA5, offset + len);
  tk::TensorView h = v;
  const tk::Status hs = tk::bind_host_storage("t", mem.get(), offset, len, &h);
  const uint8_t* p = mem ? mem.get() + offset : nullptr;
  const bool aligned = reinterpret_cast<uintptr_t>(p) % tk::dtype_align(dt) == 0;
  const bool hexpect = len == need && (mem != nullptr || need == 0) && aligned;
  if (hs.ok() != hexpect) die(hexpect ? "valid host storage was rejected" : "invalid host storage was accepted", hs);
  if (hs.ok()) {
    if (h.data != p || !h.device.is_cpu()) die("wrong data pointer / device", hs);
    // Read every byte of the view: ASan reports any byte beyond the buffer.
    const uint8_t* b = static_cast<const uint8_t*>(h.data);
    unsigned sum = 0;
    for (size_t i = 0; i < h.nbytes(); ++i) sum += b[i];
    if (h.nbytes() > 0 && sum != 0xA5u * h.nbytes()) die("view reads other bytes", hs);
  }

  // Device storage: an allocation must be at least the view's size (no bytes are touched here).
  const size_t dbytes = f.ConsumeBool() ? need : f.ConsumeIntegral<uint32_t>();
  tk::TensorView d = v;
  const tk::Status ds = tk::bind_device_storage("t", reinterpret_cast<void*>(0x1000), dbytes, f.ConsumeIntegralInRange<int>(0, 7), &d);
  if (ds.ok() != (dbytes >= need)) die("device storage size check", ds);
  return 0;
}

// The CPU-only build (binding.gyp, or CMake with TK_CUDA=OFF / no CUDA compiler).
#include "runtime.h"

namespace tk::cuda {
namespace {
const char kWhy[] =
    "this tensorkern binary was built without CUDA (no CUDA compiler at build time); install the "
    "prebuilt package or rebuild with `npm run build:cuda` on a machine with nvcc";
Status no_gpu() { return NoGpu(kWhy); }
}  // namespace

const Probe& probe() {
  static const Probe p = [] {
    Probe x;
    x.why_no_gpu = kWhy;
    return x;
  }();
  return p;
}
bool usable(int) { return false; }
Status mem_info(int, size_t*, size_t*) { return no_gpu(); }
size_t pool_in_use(int) noexcept { return 0; }
void record_sticky(const std::string&) noexcept {}
std::string sticky_error() { return std::string(); }
Status inject_fault(int, const std::string&) { return no_gpu(); }
Status alloc(int, size_t, void**) { return no_gpu(); }
void release(int, void*) noexcept {}
Status copy_to_device(int, void*, const void*, size_t) { return no_gpu(); }
Status copy_to_host(int, void*, const void*, size_t) { return no_gpu(); }
Status copy_device_to_device(int, void*, const void*, size_t) { return no_gpu(); }
Status synchronize(int) { return no_gpu(); }
Status fill_zero(int, void*, size_t) { return no_gpu(); }
void* stream(int) { return nullptr; }
Status set_device(int) { return no_gpu(); }

}  // namespace tk::cuda

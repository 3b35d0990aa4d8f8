#pragma once
#include <string>

namespace tk {

// Where a tensor's storage lives. CUDA devices are numbered as the CUDA runtime numbers them.
struct Device {
  enum Kind { kCpu = 0, kCuda = 1 };
  Kind kind = kCpu;
  int index = 0;

  static Device cpu() { return Device{kCpu, 0}; }
  static Device cuda(int i) { return Device{kCuda, i}; }
  bool is_cpu() const { return kind == kCpu; }
  bool is_cuda() const { return kind == kCuda; }
  bool operator==(const Device& o) const { return kind == o.kind && (kind == kCpu || index == o.index); }
  bool operator!=(const Device& o) const { return !(*this == o); }
  std::string str() const { return is_cpu() ? std::string("cpu") : "cuda:" + std::to_string(index); }
};

}  // namespace tk

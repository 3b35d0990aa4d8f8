// Loading a third-party bench baseline with dlopen: the first of several candidate names (an
// environment variable naming a path first) that opens, or why none did.
#pragma once
#include <initializer_list>
#include <string>
#include <vector>

namespace tk::bench {

struct Lib {
  void* handle = nullptr;
  std::string path, version, why;
};

// `how` says how to install the library; it ends the "not found" reason.
Lib open_first(const char* env, std::initializer_list<const char*> names, const char* how);

// Where PyTorch's pip wheels put NVIDIA's libraries (nvidia-cublas-cu12, nvidia-cusparse-cu12, the cu13
// bundle): <prefix>/lib/pythonX.Y/{site,dist}-packages/<sub> and ~/.local/lib/pythonX.Y/site-packages/<sub>,
// for each `sub` (e.g. "nvidia/cublas/lib/libcublas.so.12").
std::vector<std::string> nvidia_pip_paths(std::initializer_list<const char*> subs);

// Before loading an OpenMP-based baseline: its thread count, and a short spin of idle workers (read
// by libgomp when it loads). Users' own settings win.
void set_openmp_env(int threads);

}  // namespace tk::bench

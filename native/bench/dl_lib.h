// Loading a third-party bench baseline with dlopen: the first of several candidate names (an
// environment variable naming a path first) that opens, or why none did.
#pragma once
#include <initializer_list>
#include <string>

namespace tk::bench {

struct Lib {
  void* handle = nullptr;
  std::string path, version, why;
};

// `how` says how to install the library; it ends the "not found" reason.
Lib open_first(const char* env, std::initializer_list<const char*> names, const char* how);

}  // namespace tk::bench

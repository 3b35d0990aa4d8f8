#include "dl_lib.h"

#include <dlfcn.h>

#include <cstdlib>
#include <vector>

namespace tk::bench {

Lib open_first(const char* env, std::initializer_list<const char*> names, const char* how) {
  Lib l;
  std::string tried;
  std::vector<std::string> cands;
  if (const char* e = std::getenv(env)) cands.push_back(e);
  for (const char* n : names) cands.push_back(n);
  for (const std::string& n : cands) {
    l.handle = dlopen(n.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (l.handle) {
      l.path = n;
      return l;
    }
    tried += (tried.empty() ? "" : ", ") + n;
  }
  l.why = std::string("not found (tried ") + tried + "); " + how;
  return l;
}

}  // namespace tk::bench

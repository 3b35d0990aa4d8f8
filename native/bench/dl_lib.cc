#include "dl_lib.h"

#include <dlfcn.h>

#include <cstdlib>
#include <string>
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

std::vector<std::string> nvidia_pip_paths(std::initializer_list<const char*> subs) {
  std::vector<std::string> out;
  const char* pys[] = {"python3.13", "python3.12", "python3.11", "python3.10"};
  for (const char* prefix : {"/usr/local/lib", "/usr/lib", "/opt/conda/lib"})
    for (const char* py : pys)
      for (const char* sp : {"site-packages", "dist-packages"})
        for (const char* sub : subs) out.push_back(std::string(prefix) + "/" + py + "/" + sp + "/" + sub);
  if (const char* home = std::getenv("HOME"))
    for (const char* py : pys)
      for (const char* sub : subs) out.push_back(std::string(home) + "/.local/lib/" + py + "/site-packages/" + sub);
  return out;
}

void set_openmp_env(int threads) {
  const std::string t = std::to_string(threads);
  setenv("OMP_NUM_THREADS", t.c_str(), 0);
  // libgomp's idle workers spin 300,000 times after each call by default. On a 2-core machine
  // librsb's spinning threads made whatever the bench timed next run 3-4x slower, through the
  // harness's 10 ms warm phase; 10,000 spins still cover the gaps between one call's parallel
  // regions (librsb and oneDNN measured no slower).
  setenv("GOMP_SPINCOUNT", "10000", 0);
}

}  // namespace tk::bench

#include "cpu_features.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>
#include <utility>

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#define TK_X86 1
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif
#if defined(__linux__)
#include <sched.h>
#endif

namespace tk {
namespace {

#if TK_X86
void cpuid(unsigned leaf, unsigned sub, unsigned r[4]) { __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]); }

unsigned long long xgetbv0() {
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<unsigned long long>(hi) << 32) | lo;
}

void detect_x86(CpuFeatures* f) {
  unsigned r[4];
  cpuid(0, 0, r);
  unsigned max_leaf = r[0];
  char vendor[13] = {};
  std::memcpy(vendor, &r[1], 4);
  std::memcpy(vendor + 4, &r[3], 4);
  std::memcpy(vendor + 8, &r[2], 4);
  f->vendor = vendor;

  cpuid(0x80000000u, 0, r);
  if (r[0] >= 0x80000004u) {
    char brand[49] = {};
    for (unsigned i = 0; i < 3; ++i) {
      cpuid(0x80000002u + i, 0, r);
      std::memcpy(brand + 16 * i, r, 16);
    }
    std::string b(brand);
    size_t s = b.find_first_not_of(' '), e = b.find_last_not_of(' ');
    f->brand = s == std::string::npos ? "" : b.substr(s, e - s + 1);
  }

  cpuid(1, 0, r);
  {  // display family / model: the extended fields count from base family 0xF
    const unsigned base_family = (r[0] >> 8) & 0xf, base_model = (r[0] >> 4) & 0xf;
    f->family = int(base_family == 0xf ? base_family + ((r[0] >> 20) & 0xff) : base_family);
    f->model = int(base_family == 0xf || base_family == 0x6 ? base_model | (((r[0] >> 16) & 0xf) << 4) : base_model);
  }
  bool osxsave = (r[2] >> 27) & 1;
  f->sse42 = (r[2] >> 20) & 1;
  bool avx_hw = (r[2] >> 28) & 1;
  bool fma_hw = (r[2] >> 12) & 1;
  bool f16c_hw = (r[2] >> 29) & 1;
  unsigned long long xcr0 = osxsave ? xgetbv0() : 0;
  bool os_avx = (xcr0 & 0x6) == 0x6;                 // XMM and YMM state
  bool os_avx512 = os_avx && (xcr0 & 0xe0) == 0xe0;  // opmask, ZMM_Hi256, Hi16_ZMM
  f->avx = avx_hw && os_avx;
  f->fma = fma_hw && os_avx;
  f->f16c = f16c_hw && os_avx;
  if (max_leaf >= 7) {
    cpuid(7, 0, r);
    unsigned max_sub = r[0];
    f->bmi2 = (r[1] >> 8) & 1;
    f->avx2 = os_avx && ((r[1] >> 5) & 1);
    f->avx512f = os_avx512 && ((r[1] >> 16) & 1);
    f->avx512dq = os_avx512 && ((r[1] >> 17) & 1);
    f->avx512bw = os_avx512 && ((r[1] >> 30) & 1);
    f->avx512vl = os_avx512 && ((r[1] >> 31) & 1);
    f->avx512vnni = os_avx512 && ((r[2] >> 11) & 1);
    if (max_sub >= 1) {
      cpuid(7, 1, r);
      f->avxvnni = os_avx && ((r[0] >> 4) & 1);
      f->avx512bf16 = os_avx512 && ((r[0] >> 5) & 1);
    }
  }
}
#endif

#if defined(__aarch64__)
void detect_arm(CpuFeatures* f) {
  f->vendor = "ARM";
  f->neon = true;  // mandatory on AArch64
#if defined(__linux__)
  unsigned long hw = getauxval(AT_HWCAP), hw2 = getauxval(AT_HWCAP2);
#ifdef HWCAP_ASIMDDP
  f->neon_dotprod = hw & HWCAP_ASIMDDP;
#endif
#ifdef HWCAP_ASIMDHP
  f->neon_fp16 = hw & HWCAP_ASIMDHP;
#endif
#ifdef HWCAP2_BF16
  f->neon_bf16 = hw2 & HWCAP2_BF16;
#endif
#ifdef HWCAP2_I8MM
  f->neon_i8mm = hw2 & HWCAP2_I8MM;
#endif
  (void)hw2;
#endif
}
#endif

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return "";
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void read_os_model(CpuFeatures* f) {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0 || line.rfind("Model", 0) == 0) {
      size_t c = line.find(':');
      if (c != std::string::npos) {
        size_t b = line.find_first_not_of(" \t", c + 1), e = line.find_last_not_of(" \t\r");
        f->os_model = b == std::string::npos ? "" : line.substr(b, e - b + 1);
        return;
      }
    }
  }
}

CpuTopology detect_topology() {
  CpuTopology t;
  int hw = static_cast<int>(std::thread::hardware_concurrency());
  t.logical_cpus = std::max(1, hw);
  t.physical_cores = t.logical_cpus;
#if defined(__linux__)
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int logical = 0;
    std::set<std::pair<std::string, std::string>> cores;
    bool topo_ok = true;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (!CPU_ISSET(cpu, &set)) continue;
      ++logical;
      std::string base = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
      std::string pkg = read_file(base + "physical_package_id"), core = read_file(base + "core_id");
      if (core.empty()) topo_ok = false;
      cores.insert({pkg, core});
    }
    if (logical > 0) {
      t.logical_cpus = logical;
      t.physical_cores = topo_ok ? static_cast<int>(cores.size()) : logical;
    }
  }
  // cgroup v2 CPU quota ("max 100000" = none, "200000 100000" = 2 CPUs).
  std::string quota = read_file("/sys/fs/cgroup/cpu.max");
  long q = 0, p = 0;
  if (std::sscanf(quota.c_str(), "%ld %ld", &q, &p) == 2 && q > 0 && p > 0) {
    int cap = std::max(1, static_cast<int>(std::ceil(static_cast<double>(q) / static_cast<double>(p))));
    t.physical_cores = std::min(t.physical_cores, cap);
    t.logical_cpus = std::min(t.logical_cpus, cap);
  }
#endif
  t.physical_cores = std::max(1, t.physical_cores);
  return t;
}

Isa detect_best(const CpuFeatures& f) {
  if (f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.fma && f.f16c) return Isa::kAvx512;
  if (f.avx2 && f.fma && f.f16c) return Isa::kAvx2;
  if (f.neon) return Isa::kNeon;
  return Isa::kScalar;
}

bool parse_isa(const std::string& s, int* out) {
  if (s.empty() || s == "auto") {
    *out = -1;
    return true;
  }
  if (s == "scalar") {
    *out = int(Isa::kScalar);
    return true;
  }
  if (s == "avx2") {
    *out = int(Isa::kAvx2);
    return true;
  }
  if (s == "avx512") {
    *out = int(Isa::kAvx512);
    return true;
  }
  if (s == "neon") {
    *out = int(Isa::kNeon);
    return true;
  }
  return false;
}

std::atomic<int> g_cap{[] {
  const char* e = std::getenv("TENSORKERN_ISA");
  int cap = -1;
  if (e != nullptr && !parse_isa(e, &cap)) cap = -1;  // lib/ reports a bad value
  return cap;
}()};

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = [] {
    CpuFeatures x;
#if TK_X86
    detect_x86(&x);
#endif
#if defined(__aarch64__)
    detect_arm(&x);
#endif
    read_os_model(&x);
    return x;
  }();
  return f;
}

const CpuTopology& cpu_topology() {
  static const CpuTopology t = detect_topology();
  return t;
}

Isa best_isa() {
  static const Isa best = detect_best(cpu_features());
  return best;
}

Isa active_isa() {
  Isa best = best_isa();
  int cap = g_cap.load(std::memory_order_relaxed);
  if (cap < 0) return best;
  if (best == Isa::kNeon) return cap == int(Isa::kScalar) ? Isa::kScalar : Isa::kNeon;
  if (cap == int(Isa::kNeon)) return best;  // x86: a NEON cap means nothing
  return static_cast<Isa>(std::min(cap, int(best)));
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return "scalar";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
    case Isa::kNeon: return "neon";
  }
  return "scalar";
}

bool set_isa_cap(const std::string& name) {
  int cap;
  if (!parse_isa(name, &cap)) return false;
  g_cap.store(cap, std::memory_order_relaxed);
  return true;
}

namespace {
int parse_on_off(const char* s) { return s && std::strcmp(s, "on") == 0 ? 1 : s && std::strcmp(s, "off") == 0 ? 0 : -1; }
std::atomic<int> g_bf16_dot{parse_on_off(std::getenv("TENSORKERN_BF16_DOT"))};  // -1: from the CPU
}  // namespace

bool bf16_dot_enabled() {
  const CpuFeatures& f = cpu_features();
  if (!f.avx512bf16) return false;
  const int m = g_bf16_dot.load(std::memory_order_relaxed);
  return m >= 0 ? m == 1 : f.vendor != "GenuineIntel";
}

bool set_bf16_dot(const std::string& mode) {
  if (mode != "auto" && mode != "on" && mode != "off") return false;
  g_bf16_dot.store(parse_on_off(mode.c_str()), std::memory_order_relaxed);
  return true;
}

}  // namespace tk

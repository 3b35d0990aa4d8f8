// CPU feature detection (CPUID + XGETBV on x86-64, HWCAP on arm64) and the kernel ISA choice.
#pragma once
#include <string>

namespace tk {

struct CpuFeatures {
  std::string vendor;
  // Two names for the CPU, which a VM may set apart: `brand` is CPUID's brand string (x86-64; empty
  // elsewhere), `os_model` is the OS's own name (/proc/cpuinfo "model name", or "Model" on boards that
  // give one), which lscpu shows. Either may be empty.
  std::string brand, os_model;
  // x86-64: CPUID's display family and model (AMD Zen 3 / 4: family 0x19, Zen 5: 0x1A; Intel: 6), for
  // kernel tuning chosen per core design. 0 elsewhere.
  int family = 0, model = 0;
  // x86-64. The AVX/AVX-512 bits are only set when the OS saves the register state (XGETBV).
  bool sse42 = false, avx = false, avx2 = false, fma = false, f16c = false, bmi2 = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
  bool avx512vnni = false, avx512bf16 = false, avxvnni = false;
  // arm64
  bool neon = false, neon_dotprod = false, neon_fp16 = false, neon_bf16 = false, neon_i8mm = false;
};

struct CpuTopology {
  int logical_cpus = 1;    // CPUs this process may run on (affinity mask)
  int physical_cores = 1;  // distinct cores among them, capped by a cgroup CPU quota when present
};

// Kernel families, best last. avx2 means AVX2+FMA+F16C; avx512 means F+BW+VL+DQ.
enum class Isa { kScalar = 0, kAvx2 = 1, kAvx512 = 2, kNeon = 3 };

const CpuFeatures& cpu_features();
const CpuTopology& cpu_topology();

// The ISA kernels use: the best the CPU has, capped by TENSORKERN_ISA or set_isa_cap().
Isa active_isa();
Isa best_isa();
const char* isa_name(Isa isa);
// Caps the ISA for later ops (testing every kernel path on one machine). Returns false for an
// unknown name. "auto" removes the cap.
bool set_isa_cap(const std::string& name);

// Whether bfloat16 products run on vdpbf16ps (AVX512_BF16: a pair of products per float32 lane) or
// are widened to float32 and run on FMAs (exact products either way). vdpbf16ps only pays where it
// issues near the FMA rate; measured one instruction kind per loop, 12 independent accumulators:
// - Intel Emerald Rapids (family 6, model 0xCF): vdpbf16ps zmm 0.745 ns, vfmadd231ps zmm 0.182 ns,
//   vpdpbusd zmm 0.18 ns -- 2x slower per product than float32 FMAs (bf16 attention 0.60-0.92x its
//   float32 time on it); other Intel cores with AVX512_BF16 (Cooper Lake, Sapphire Rapids) are
//   assumed alike, unmeasured.
// - AMD Zen 5 (family 0x1A): bf16 gemm 733 vs float32 396 GFLOP/s, bf16 attention 1.34-1.45x
//   float32 (gemm_configs.h, docs/attention.md); Zen 4 keeps vdpbf16ps as before.
// "auto" (the default) picks by that; "on" / "off" force it where the CPU has AVX512_BF16
// (TENSORKERN_BF16_DOT=on|off at start-up; tests run both). False without AVX512_BF16.
bool bf16_dot_enabled();
// Returns false for a name other than "auto", "on", "off".
bool set_bf16_dot(const std::string& mode);

}  // namespace tk

// The CPU GEMM kernel interface: what each ISA translation unit (gemm_cpu_<isa>.cc) provides to the
// ISA-neutral driver (gemm_cpu.cc). The BLIS structure: the driver walks cache blocks of C and K and
// calls the ISA's packing routines and MR x NR microkernel; skinny shapes (few rows, the decode case)
// use kernels that stream B once without packing.
#pragma once
#include <cstddef>
#include <cstdint>

#include "../../core/dtype.h"

namespace tk::gemm_kernels {

// An operand as stored: element (r, k) of op(X) is data[trans ? k * ld + r : r * ld + k].
struct Operand {
  const void* data;
  DType dtype;
  int64_t ld;
  bool trans;
  // dtype kInt4 (B of the float kernels, stored [N, K], two's complement nibbles, low first): element
  // (n, k) is (q - z) * s in float32, s = scales[n * groups + k / group], z = zeros ? the same : 0.
  const float* scales = nullptr;
  const int8_t* zeros = nullptr;
  int64_t group = 0;
};

// What a microkernel does with its accumulator tile. K is walked in blocks: the first block applies
// alpha and beta * cin (cin may alias c), later blocks add alpha * acc, the last adds the bias.
template <class Acc>
struct Epilogue {
  Acc alpha = 1, beta = 0;
  const Acc* cin = nullptr;  // rows of C's input at this tile (ldcin apart), or null
  int64_t ldcin = 0;
  const Acc* bias = nullptr;  // bias at this tile's first column, or null
  bool first = true, last = true;
  // Grouped int8 kernels only (IsaKernels::i8_grouped): C is float32, and each group of gsize steps
  // of K adds gscale[g * ldgs + j] * (its exact int32 sum) to column j, group 0 the K block's first
  // (gscale points at this tile's first column). alpha, beta, cin and bias are not applied.
  const float* gscale = nullptr;
  int64_t ldgs = 0;
  int gsize = 0;
};

template <class Acc>
struct BlockedKernels {
  const char* name = nullptr;  // e.g. "avx2 f32 6x16"
  int mr = 0, nr = 0;          // microkernel tile
  int kc = 0, mc = 0, nc = 0;  // cache blocks (gemm_configs.h)
  // Bytes of one packed MR-row panel of A / NR-column panel of B over kc steps of K.
  size_t (*a_panel_bytes)(int64_t kc) = nullptr;
  size_t (*b_panel_bytes)(int64_t kc) = nullptr;
  // Packs rows [i0, i0+rows) x K [k0, k0+kc) of op(A) into ceil(rows/MR) panels (zero padded).
  void (*pack_a)(const Operand& a, int64_t i0, int64_t rows, int64_t k0, int64_t kc, void* dst) = nullptr;
  // Packs K [k0, k0+kc) x columns [j0, j0+cols) of op(B) into ceil(cols/NR) panels (zero padded).
  void (*pack_b)(const Operand& b, int64_t k0, int64_t kc, int64_t j0, int64_t cols, void* dst) = nullptr;
  // C[mr x nr] (mr <= MR, nr <= NR) from one A panel and one B panel.
  void (*ukr)(int64_t kc, const void* ap, const void* bp, Acc* c, int64_t ldc, int mr, int nr, const Epilogue<Acc>& e) = nullptr;
  // The small-M loop (BlockConfig::small_m / small_kc): up to small_m rows (0: mc), K blocks of
  // small_kc (0: kc).
  int small_m = 0, small_kc = 0;
  int small_rows() const { return small_m > 0 ? small_m : mc; }
  int small_k_block() const { return small_kc > 0 ? small_kc : kc; }
};

// Skinny float kernels: C[0:M, n0:n1] = epilogue(A @ op(B)) with A float32 [M, K] contiguous and B
// read in place (float32 / float16 / bfloat16), each element of B loaded once per call.
// `scratch` holds M * (n1 - n0) floats.
struct SkinnyKernels {
  const char* name = nullptr;
  int max_m_nn = 0;  // the driver takes this path for M <= max_m_nn when B is stored [K, N]
  int max_m_nt = 0;  // ... and for M <= max_m_nt when B is stored [N, K]
  void (*run)(int64_t M, int64_t K, const float* a, const Operand& b, int64_t n0, int64_t n1, float* c, int64_t ldc,
              const Epilogue<float>& e, float* scratch) = nullptr;
};

// Skinny int8 kernels: C[0:M, n0:n1] (int32, exact) = epilogue(A @ op(B)) with A int8 [M, K]
// contiguous and B int8 read in place, each element of B loaded once per call. `scratch` holds
// M * 512 int32.
struct SkinnyI8Kernels {
  const char* name = nullptr;
  int max_m = 0;  // the driver takes this path for M <= max_m (either layout of B)
  void (*run)(int64_t M, int64_t K, const int8_t* a, const Operand& b, int64_t n0, int64_t n1, int32_t* c, int64_t ldc,
              const Epilogue<int32_t>& e, int32_t* scratch) = nullptr;
};

struct IsaKernels {
  BlockedKernels<float> f32;  // float32 / float16 / bfloat16 inputs, converted while packing
  // The same with an MR that divides 64 (avx512 8x32), for ops whose A comes in small blocks of rows
  // (monarch: 64 weight rows per block are 5 x 12 + 4 on f32's tile, 72 rows computed). Dense gemm
  // never uses it; name null where the ISA has none.
  BlockedKernels<float> f32_mr8;
  BlockedKernels<float> bf16_dot;  // bfloat16 inputs on native bf16 dot products (name null when absent)
  BlockedKernels<int32_t> i8;      // int8 x int8 -> int32, exact
  // int8 x int8 in groups of K (W4A4 / W4A8 with weight groups): i8's packing, a microkernel that
  // scales each group's exact int32 sum into float32 C (Epilogue::gscale). Name null where absent.
  BlockedKernels<int32_t> i8_grouped;
  SkinnyKernels skinny;
  SkinnyI8Kernels skinny_i8;
};

// Each ISA unit fills the table; the avx512 one only when called on a CPU that has it.
void get_kernels_scalar(IsaKernels* k);
void get_kernels_avx2(IsaKernels* k);
// The AVX-512 cache-block configs (gemm_configs.h): split (cores that split 512-bit work, and the
// default), wide (two full-width 512-bit FMA pipes and 1 MB of L2: AMD Zen 5), xeon (split, with
// int8's own blocks for Intel Xeon's 2 MB L2).
enum class Blocks { kSplit = 0, kWide = 1, kXeon = 2 };
void get_kernels_avx512(IsaKernels* k, bool has_vnni, bool has_bf16, Blocks blocks);
void get_kernels_neon(IsaKernels* k);

// The table gemm_cpu uses now (the active ISA and block config): for ops built on these kernels
// (monarch).
const IsaKernels& active_kernels();

}  // namespace tk::gemm_kernels

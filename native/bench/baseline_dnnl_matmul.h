// oneDNN's matmul primitive as a bench baseline, the form a oneDNN user serving a model writes: the
// primitive created once per shape and the weights reordered once into the layout it picks
// (format_tag any), outside the timed call. Through the oneDNN 2.x C API (Debian 12's 2.6.3), loaded
// with dlopen like the other baselines; 3.x changed that API and is reported as unsupported.
#pragma once
#include <string>

#include "../core/status.h"
#include "../ops/gemm/gemm.h"

namespace tk::bench {

// Resolves the entry points from an opened libdnnl of version `major`; false (with why) if unusable.
bool dnnl_matmul_load(void* handle, int major, std::string* why);
// out = op(a) op(b) on the CPU: float32, or int8 as u8s8s32 (a's bytes read as unsigned: the same
// work as our s8 product, a different result; the bench only times it).
Status dnnl_matmul_run(const GemmParams& p, const GemmShape& s);

}  // namespace tk::bench

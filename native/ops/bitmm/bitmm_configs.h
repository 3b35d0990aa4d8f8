// bitmm's CPU cache blocks (bitmm_cpu.cc), as bytes of plane rows.
#pragma once
#include <cstdint>

namespace tk::bitmm_configs {

// b's rows per block: their planes (32 KB) stay in a 48 KB L1 (Zen 4 / 5: 32 / 48 KB) while a's
// 4-row tiles sweep them.
constexpr int64_t kPanelBytes = 32 * 1024;
// At most this many (short rows: small K): the driver's row buffer of y is 4 x 512 int32 (8 KB).
constexpr int64_t kMaxPanelRows = 512;
// a's rows per block: 256 KB of planes, in a 1 MB L2 next to the panel.
constexpr int64_t kBlockBytes = 256 * 1024;

}  // namespace tk::bitmm_configs

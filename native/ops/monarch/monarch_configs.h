// The CPU monarch driver's row tile (monarch_cpu.cc). Each thread takes `rows` rows of x at a time
// and keeps their intermediate u^T [k*q, rows] and result y^T [l*s, rows] (float32) in its own
// scratch, so the permutation between the two products is only a change of strides (never a pass
// over memory) and both products read a tile the first one just wrote, from L2.
#pragma once
#include <cstdint>

namespace tk::monarch_config {

// u^T + y^T per tile at most this many bytes. n = 4096 -> 64 rows: two 32-column panels per packed
// weight panel. Measured at n = 4096, 64 blocks, batch 1024, 2 threads (AVX-512, 1 MB L2): 32 rows
// 17.9 ms, 64 rows 15.5, 128 rows 15.5, 256 rows 18.4 -- a tile a bit past L2 costs less than
// reloading each weight panel for every 32 rows.
constexpr int64_t kTileBytes = int64_t(2) << 20;
// More rows than this add nothing (each packed weight panel is already reused across the tile's
// column panels) and leave threads idle at small batches.
constexpr int64_t kMaxRows = 128;

// Rows per tile: a multiple of the microkernel's NR within [nr, kMaxRows] that fits kTileBytes.
inline int64_t tile_rows(int64_t kq, int64_t ls, int nr) {
  const int64_t per_row = 4 * (kq + ls > 0 ? kq + ls : 1);
  int64_t rows = kTileBytes / per_row / nr * nr;
  const int64_t cap = kMaxRows / nr * nr > 0 ? kMaxRows / nr * nr : nr;
  return rows < nr ? nr : rows > cap ? cap : rows;
}

}  // namespace tk::monarch_config

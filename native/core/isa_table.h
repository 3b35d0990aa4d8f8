// Per-ISA tables of kernel entry points, each filled once on first use (thread-safe): the ops'
// drivers keep one table type each and say how to fill it for an ISA.
#pragma once
#include <mutex>

#include "cpu_features.h"

namespace tk {

// kVariant keeps apart the tables of one type built for a run-time choice (gemm's block configs,
// the bfloat16 products): one set of tables per value.
template <class Table, int kVariant = 0, class Fill>
const Table& isa_table(Isa isa, Fill fill) {
  static Table tables[4];
  static std::once_flag once[4];
  const int i = static_cast<int>(isa);
  std::call_once(once[i], [&] { fill(isa, &tables[i]); });
  return tables[i];
}

}  // namespace tk

// Per-ISA tables of kernel entry points, each filled once on first use (thread-safe): the ops'
// drivers keep one table type each and say how to fill it for an ISA.
#pragma once
#include <mutex>

#include "cpu_features.h"

namespace tk {

template <class Table, class Fill>
const Table& isa_table(Isa isa, Fill fill) {
  static Table tables[4];
  static std::once_flag once[4];
  const int i = static_cast<int>(isa);
  std::call_once(once[i], [&] { fill(isa, &tables[i]); });
  return tables[i];
}

}  // namespace tk

// Per-thread scratch memory that persists across ops: packing buffers and workspaces are needed on
// every call, and fresh megabyte allocations cost a page fault per 4 KB each time (mmap'd by malloc,
// zeroed by the kernel). Each thread keeps its buffers and grows them as needed; they are freed when
// the thread exits.
#pragma once
#include <cstddef>

namespace tk {

enum class ScratchSlot { kPackA = 0, kPackB = 1, kWork = 2, kCount = 3 };

// A 64-byte aligned buffer of at least `bytes` for this thread and slot (contents undefined). Valid
// until the same thread asks for the same slot again. Throws std::bad_alloc when memory runs out.
void* thread_scratch(ScratchSlot slot, size_t bytes);

}  // namespace tk

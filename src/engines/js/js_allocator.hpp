// The ArrayBuffer allocator of a JavaScript spell's isolate: every buffer's bytes count against
// the spell's memory cap, with the V8 heap and the host bytes held for it. Built in its own
// translation unit because subclassing a V8 class needs -fno-rtti (libnode's V8 has no RTTI).
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>

namespace v8 {
class ArrayBuffer;
}

namespace llmspell::js {

struct BufferBudget {
  std::atomic<size_t> used{0};  // bytes of live ArrayBuffers (GC threads may free them)
  // May `bytes` more be allocated? Called on the isolate's thread; when it says no, the
  // allocation fails (a RangeError in the script) and the function has stopped the spell.
  std::function<bool(size_t bytes)> admit;
};

// Returns an allocator (owned by the caller, deleted with deleteBufferAllocator) that charges
// `budget`, which must outlive it.
void* newBufferAllocator(BufferBudget* budget);
void deleteBufferAllocator(void* allocator);

}  // namespace llmspell::js

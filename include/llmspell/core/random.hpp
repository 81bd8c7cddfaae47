// Random bytes for identifiers (run ids, trace and span ids): the kernel's randomness, taken a
// block at a time. Each run made four getrandom calls for its ids, and a system call is a few
// microseconds on a virtual machine; one 4 KiB block now serves about a hundred runs. The bytes
// are the kernel's own (no generator in between), a block is never handed out twice, and a
// forked child starts with an empty block rather than its parent's. Keys and secrets still come
// from libsodium. Thread-safe.
#pragma once

#include <cstddef>
#include <string>

namespace llmspell {

void randomBytes(void* out, size_t n);

// `bytes` random bytes as lowercase hex (2 * bytes characters).
std::string randomHex(size_t bytes);

}  // namespace llmspell

// Block-buffered kernel randomness (see random.hpp).
#include "llmspell/core/random.hpp"

#include <pthread.h>
#include <sys/random.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "llmspell/core/error.hpp"

namespace llmspell {

namespace {

constexpr size_t kBlock = 4096;

struct Pool {
  std::mutex mu;
  unsigned char bytes[kBlock];
  size_t used = kBlock;  // empty
};

Pool& pool() {
  static Pool* p = [] {
    auto* made = new Pool;  // leaked: ids may be made while static destructors run
    // A child of fork() must not hand out the bytes its parent hands out too; the lock is held
    // across the fork so that the child's copy is not left locked by a thread it does not have.
    ::pthread_atfork([] { pool().mu.lock(); }, [] { pool().mu.unlock(); },
                     [] {
                       pool().used = kBlock;
                       pool().mu.unlock();
                     });
    return made;
  }();
  return *p;
}

void fill(unsigned char* out, size_t n) {
  while (n > 0) {
    ssize_t got = ::getrandom(out, n, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      fail(codes::kInternal, std::string("getrandom failed: ") + std::strerror(errno));
    }
    out += got;
    n -= static_cast<size_t>(got);
  }
}

}  // namespace

void randomBytes(void* out, size_t n) {
  auto* dst = static_cast<unsigned char*>(out);
  if (n > kBlock / 4) return fill(dst, n);
  Pool& p = pool();
  std::lock_guard lk(p.mu);
  if (kBlock - p.used < n) {
    fill(p.bytes, kBlock);
    p.used = 0;
  }
  std::memcpy(dst, p.bytes + p.used, n);
  std::memset(p.bytes + p.used, 0, n);  // handed out once
  p.used += n;
}

std::string randomHex(size_t bytes) {
  static const char* digits = "0123456789abcdef";
  unsigned char b[64];
  std::string s;
  s.reserve(2 * bytes);
  while (bytes > 0) {
    size_t n = bytes < sizeof b ? bytes : sizeof b;
    randomBytes(b, n);
    for (size_t i = 0; i < n; ++i) {
      s += digits[b[i] >> 4];
      s += digits[b[i] & 15];
    }
    bytes -= n;
  }
  return s;
}

}  // namespace llmspell

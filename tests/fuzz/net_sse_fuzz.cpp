// libFuzzer target for the SSE parser: no crash on any bytes, and the events are the same
// whether the input arrives whole or split at fuzzer-chosen points (the streaming invariant).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "llmspell/net/sse.hpp"

using llmspell::net::SseEvent;
using llmspell::net::SseParser;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  // The first two bytes choose the split stride; the rest is the stream.
  size_t stride = 1 + (static_cast<size_t>(data[0]) << 8 | data[1]) % 64;
  std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);

  std::vector<SseEvent> whole, split;
  SseParser a([&](const SseEvent& e) { whole.push_back(e); });
  a.feed(in);
  a.finish();
  SseParser b([&](const SseEvent& e) { split.push_back(e); });
  for (size_t off = 0; off < in.size(); off += stride) b.feed(in.substr(off, stride));
  b.finish();
  if (whole != split) std::abort();
  return 0;
}

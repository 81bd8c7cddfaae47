// An SSE body -> the SSE parser -> every provider's stream decoder (codec_streams.hpp).
#include <cstdint>

#include "codec_streams.hpp"
#include "llmspell/net/sse.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  llmspell::fuzz::CodecStreams streams;
  llmspell::net::SseParser sse(
      [&](const llmspell::net::SseEvent& e) { streams.feed(e.event, e.data); });
  sse.feed(std::string_view(reinterpret_cast<const char*>(data), size));
  sse.finish();
  streams.finish();
  return 0;
}

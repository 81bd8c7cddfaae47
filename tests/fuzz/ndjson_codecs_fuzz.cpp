// An NDJSON body -> the NDJSON splitter -> every provider's stream decoder (codec_streams.hpp).
#include <cstdint>

#include "codec_streams.hpp"
#include "llmspell/net/ndjson.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  llmspell::fuzz::CodecStreams streams;
  llmspell::net::NdjsonParser nd([&](std::string_view line) { streams.feed("", line); });
  nd.feed(std::string_view(reinterpret_cast<const char*>(data), size));
  nd.finish();
  streams.finish();
  return 0;
}

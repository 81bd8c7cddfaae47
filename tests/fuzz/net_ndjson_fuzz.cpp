// libFuzzer target for the NDJSON splitter: no crash, split-invariant lines, and JSON decoding
// of every line either succeeds or raises invalid_argument (never anything else).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "llmspell/core/convert.hpp"
#include "llmspell/core/error.hpp"
#include "llmspell/net/ndjson.hpp"

using llmspell::net::NdjsonParser;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  size_t stride = 1 + data[0] % 32;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::vector<std::string> whole, split;
  NdjsonParser a([&](std::string_view l) { whole.emplace_back(l); });
  a.feed(in);
  a.finish();
  NdjsonParser b([&](std::string_view l) { split.emplace_back(l); });
  for (size_t off = 0; off < in.size(); off += stride) b.feed(in.substr(off, stride));
  b.finish();
  if (whole != split) std::abort();
  for (const auto& l : whole) {
    try {
      (void)llmspell::parseJson(l);
    } catch (const llmspell::Exception& e) {
      if (e.error().code != "invalid_argument") std::abort();
    }
  }
  return 0;
}

// JSON text -> Value (json.decode, HTTP bodies, tool results): any bytes either decode or raise
// invalid_argument (never another code, never a crash), and what decodes survives an
// encode/decode round trip unchanged.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "llmspell/core/convert.hpp"
#include "llmspell/core/error.hpp"

using namespace llmspell;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  Value v;
  try {
    v = parseJson(text);
  } catch (const Exception& e) {
    if (e.error().code != codes::kInvalidArgument) std::abort();
    return 0;
  }
  std::string again = toJsonText(v);
  if (!(parseJson(again) == v)) std::abort();
  (void)toJsonText(v, JsonOptions{.pretty = true, .sortKeys = true});
  return 0;
}

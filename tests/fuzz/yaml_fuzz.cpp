// YAML text -> Value (yaml.decode, manifests): any bytes either decode or raise invalid_argument
// or limit_exceeded (never another code, never a crash), and what decodes can be written back
// as YAML.
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
    v = parseYaml(text);
  } catch (const Exception& e) {
    if (e.error().code != codes::kInvalidArgument && e.error().code != codes::kLimitExceeded)
      std::abort();
    return 0;
  }
  try {
    (void)toYamlText(v);
  } catch (const Exception& e) {
    if (e.error().code != codes::kInvalidArgument) std::abort();
  }
  return 0;
}

// spell.yaml text -> Manifest: any bytes give a manifest or diagnostics, never an exception or
// a crash; a usable manifest's params then type `--param` strings taken from the input.
#include <cstdint>
#include <string>
#include <vector>

#include "llmspell/core/error.hpp"
#include "llmspell/spell/spell.hpp"

using namespace llmspell;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<Diagnostic> diags;
  auto m = parseManifest(text, "spell.yaml", diags);
  for (const auto& d : diags) (void)d.toString();
  if (!m) return 0;
  // Every declared param, given the raw text of each line of the input in turn.
  std::vector<std::pair<std::string, std::string>> raw;
  size_t line = 0;
  for (const auto& [name, decl] : m->params.asObject()) {
    size_t end = text.find('\n', line);
    raw.emplace_back(name, text.substr(line, end == std::string::npos ? end : end - line));
    line = end == std::string::npos ? 0 : end + 1;
  }
  try {
    (void)typeParams(m->params, raw);
  } catch (const Exception& e) {
    if (e.error().code != codes::kInvalidArgument) throw;
  }
  return 0;
}

// Reference docs from the registry: Markdown, JSON and LuaLS meta stubs.
#include "llmspell/bridge/docs.hpp"

namespace llmspell {
const std::vector<std::string_view>& docFormats() {
  static const std::vector<std::string_view> f{"md", "json", "lua-meta"};
  return f;
}
std::string generateDocs(const Registry&, std::string_view) { return ""; }
}  // namespace llmspell

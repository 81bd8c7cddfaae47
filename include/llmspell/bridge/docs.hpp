// Reference documentation generated from the registry (`llmspell docs`): Markdown, JSON, a
// LuaLS `---@meta` stub file and TypeScript declarations (for JavaScript spells) for editors.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "llmspell/bridge/registry.hpp"

namespace llmspell {

// The formats generateDocs accepts: "md", "json", "lua-meta", "dts".
const std::vector<std::string_view>& docFormats();

// Renders every namespace, global function, host type and method of `reg` in `format`.
// Returns the document text. Throws Exception(invalid_argument) naming the valid formats when
// `format` is unknown. Pure function of the registry; thread-safe on a read-only registry.
std::string generateDocs(const Registry& reg, std::string_view format);

}  // namespace llmspell

// Reference documentation generated from the registry (`llmspell docs`): Markdown, JSON, a
// LuaLS `---@meta` stub file and TypeScript declarations (for JavaScript spells) for editors.
#pragma once

#include <optional>
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

// The reference text (Markdown, as in `llmspell docs`) of one entry: a function ("llm.chat",
// a global "sleep", a method "agent:run"), or a namespace or host type ("llm", "agent"), which
// lists its functions one line each. None when `reg` has no such name. For the REPL's `:help`.
std::optional<std::string> docEntry(const Registry& reg, std::string_view name);

// The fields of an options parameter: the keys of its schema's `properties` (optionsSchema in
// schema_shape.hpp declares them; `llmspell check` reads the same). Empty when it declares none.
// For the REPL's completion inside `{...}`.
std::vector<std::string> optionFields(const ParamDecl& p);

}  // namespace llmspell

// What `llmspell repl` knows about the names a line may use, from the bridge registry: Tab
// completion and `:help NAME`. Pure functions of the registry and the text, so they are tested
// without a terminal.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmspell/bridge/registry.hpp"

namespace llmspell::cli {

// Names the session has learned from the lines entered so far: a variable holding a host object
// of a registry type (`a = agent.create{...}` -> a: agent), or, in Tengo, a module
// (`l := import("llm")` -> l: the namespace llm).
struct ReplNames {
  std::map<std::string, std::string> objects;  // variable -> registry type
  std::map<std::string, std::string> modules;  // variable -> namespace (Tengo)
  // Learns from one entered line.
  void learn(const Registry& reg, std::string_view engine, std::string_view line);
};

struct Completion {
  size_t start = 0;                     // where the completed word starts in the text
  std::vector<std::string> candidates;  // each replaces text[start, end), sorted
};

// Completions for the text before the cursor, in `engine`'s names ("lua", "js", "tengo"):
// namespaces and globals (`ll` -> `llm`), a namespace's functions (`llm.ch` -> `llm.chat`),
// methods of a variable whose type is known (`a:ru` / `a.ru` -> `run`), fields of the options
// table of a known function (`agent.create{mo` -> `model`), and the REPL's commands (`:he`).
Completion complete(const Registry& reg, std::string_view engine, std::string_view text, const ReplNames& names);

// The longest prefix shared by all candidates.
std::string commonPrefix(const std::vector<std::string>& candidates);

// `:help NAME`: the registry's reference text for a function, namespace or host type, named as
// `engine` names it (llm.countTokens in JS); otherwise a message with the closest names.
std::string helpText(const Registry& reg, std::string_view engine, std::string_view name);

}  // namespace llmspell::cli

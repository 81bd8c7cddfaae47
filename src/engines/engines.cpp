// The list of engines built into this binary and the name helpers.
#include "llmspell/engines/engine.hpp"

#include <filesystem>

#include "engines/js/js_engine.hpp"
#include "llmspell/engines/lua/lua_engine.hpp"

namespace llmspell {

Engine& tengoEngine();  // tengo_engine.cpp

const std::vector<Engine*>& allEngines() {
  static const std::vector<Engine*> all = {&luaEngine(), &tengoEngine(), &jsEngine()};
  return all;
}

Engine* findEngine(std::string_view name) {
  for (Engine* e : allEngines())
    if (e->name() == name) return e;
  return nullptr;
}

Engine* engineForPath(std::string_view path) {
  std::string ext = std::filesystem::path(path).extension().string();
  for (Engine* e : allEngines())
    for (const auto& x : e->extensions())
      if (x == ext) return e;
  return nullptr;
}

std::string camelCase(std::string_view snake) {
  std::string out;
  bool up = false;
  for (char ch : snake) {
    if (ch == '_') {
      up = !out.empty();
      continue;
    }
    out += up ? static_cast<char>(toupper(static_cast<unsigned char>(ch))) : ch;
    up = false;
  }
  return out;
}

}  // namespace llmspell

// The list of engines built into this binary.
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

}  // namespace llmspell

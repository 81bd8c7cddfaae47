// The Lua 5.4 engine (sandboxed, limited, coroutine-scheduled). See src/engines/lua/.
#pragma once

#include "llmspell/engines/engine.hpp"

struct lua_State;

namespace llmspell {

Engine& luaEngine();

// The lua_State behind a context made by luaEngine(), for embedders that must register a raw
// lua_CFunction (benchmarks compare against one). Host functions belong in the registry.
lua_State* luaStateOf(ScriptContext& ctx);

// A Lua function held as a Value. Engines unwrap their own functions instead of wrapping twice.
class LuaFunctionBase : public Function {
 public:
  virtual lua_State* state() const = 0;  // main state of the owning context, or null when gone
  virtual bool valid() const = 0;
  virtual void push(lua_State* L) const = 0;  // pushes the function (L shares the owner's registry)
};

// Wraps the Lua function at `idx` (kept alive in the registry until the Value is dropped).
FunctionPtr makeLuaFunction(lua_State* L, int idx);

}  // namespace llmspell

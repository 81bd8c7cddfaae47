// The engine interface (Redis's five-function engine, QuickJS's contexts): an Engine makes
// ScriptContexts; a context compiles and runs one spell as a coroutine on the runtime loop,
// reports memory use, and can be interrupted. Engines bind the whole registry generically.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmspell/bridge/names.hpp"  // camelCase
#include "llmspell/bridge/registry.hpp"

namespace llmspell {

struct Limits {
  size_t memoryBytes = 256u << 20;  // per context
  uint64_t instructions = 0;        // 0 = unlimited
  double timeoutSeconds = 0;        // wall clock; 0 = none
  int maxCallDepth = 10000;         // script call depth
  // Ends the process with this limit_exceeded error when an engine cannot stop the spell and go
  // on (V8 out of memory in one allocation past the cap). Unset: the engine prints the error and
  // exits with code 3 itself.
  std::function<void(const Error&)> hardStop;
};

// A string or bytes value of this size or more that an engine copies out of its VM for a host
// call must fit under the memory limit with what the VM already holds (MemoryBudget::require):
// the copy is host memory allocated on the spell's behalf. Smaller ones are not checked.
inline constexpr size_t kHostCopyCheck = size_t{64} << 10;

// One spell's VM. Not thread-safe: used on its runtime thread only.
class ScriptContext {
 public:
  virtual ~ScriptContext() = default;
  // Syntax check only. Returns the error (code invalid_argument, with source and line) or none.
  virtual std::optional<Error> check(std::string_view source, std::string_view chunkName) = 0;
  // Runs `source` as the spell's main coroutine. The promise settles with the chunk's return
  // value, or rejects with its error; a limit stop rejects with limit_exceeded.
  virtual PromisePtr run(std::string_view source, std::string_view chunkName) = 0;
  // Bytes the VM holds now.
  virtual size_t memoryUsed() const = 0;
  // Stops the spell at the next safe point with `reason` (uncatchable by the script).
  virtual void interrupt(const Error& reason) = 0;
  // True while coroutines started by the spell (spawn, callbacks) are still running.
  virtual bool busy() const = 0;
  // The limit stop that ended the spell, if one did: the limits hold for the spell's whole
  // life, so this also reports a stop in code that ran after the main chunk (a spell.finish
  // handler, a callback of cancelled work, a finalizer run by close()).
  virtual std::optional<Error> stopped() const = 0;
  // Ends the VM: what the language runs at its end (Lua's __gc finalizers) runs now, under the
  // limits, so that stopped() can report it. The destructor closes a context not closed yet.
  virtual void close() {}
};

class Engine {
 public:
  virtual ~Engine() = default;
  virtual std::string_view name() const = 0;               // "lua"
  virtual std::vector<std::string> extensions() const = 0; // {".lua"}
  virtual std::unique_ptr<ScriptContext> createContext(RunContext& run, const Limits& limits) = 0;
};

// The engines built into this binary.
const std::vector<Engine*>& allEngines();
Engine* findEngine(std::string_view name);              // by name; nullptr if none
Engine* engineForPath(std::string_view path);           // by extension; nullptr if none

}  // namespace llmspell

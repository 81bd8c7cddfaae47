// Stand-ins for registry functions, installed by test.mock for one test. The registry's call
// path (Registry::callSync / callAsync, which every engine and Registry::invoke go through)
// looks here first, so a mock reaches every engine without an engine knowing about it.
#pragma once

#include <atomic>
#include <string>
#include <unordered_map>

#include "llmspell/core/value.hpp"

namespace llmspell {

// How many CallMocks exist in the process. The call path looks for a mock only while this is not
// zero: a spell that never mocks pays one relaxed atomic load per host call.
extern std::atomic<int> gCallMocksLive;

// A run's mocks (a RunContext service), by qualified name ("llm.chat", "agent:run"). Loop-affine.
struct CallMocks {
  CallMocks() { gCallMocksLive.fetch_add(1, std::memory_order_relaxed); }
  ~CallMocks() { gCallMocksLive.fetch_sub(1, std::memory_order_relaxed); }
  CallMocks(const CallMocks&) = delete;
  CallMocks& operator=(const CallMocks&) = delete;
  std::unordered_map<std::string, FunctionPtr> byName;
};

}  // namespace llmspell

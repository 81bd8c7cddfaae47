// Script functions that report how a call changed its arguments. A script gets copies of host
// values (a Lua table, a Tengo map), so a hook that edits `ctx` in place, without returning it,
// would change nothing the host sees; engines whose functions implement this interface let the
// host read the arguments back after the call.
#pragma once

#include <vector>

#include "llmspell/core/value.hpp"
#include "llmspell/runtime/promise.hpp"

namespace llmspell {

class ArgsSeeingCall {
 public:
  virtual ~ArgsSeeingCall() = default;
  // As Function::call, but fulfils with {result = the return value, args = {the arguments as the
  // function left them}}.
  virtual PromisePtr callSeeingArgs(std::vector<Value> args) = 0;
};

}  // namespace llmspell

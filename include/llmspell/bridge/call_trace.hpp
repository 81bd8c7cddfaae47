// Which registry functions spells call, for the conformance suite's table of what each engine
// covers (docs/engine_coverage.md). Off unless LLMSPELL_TRACE_CALLS names a file: then every
// function and method of the registry is listed there once ("all\tname") and each one a script
// calls is added the first time ("called\tname"). Engines call traceScriptCall from their thunks.
#pragma once

#include "llmspell/bridge/registry.hpp"

namespace llmspell {

extern const bool gTraceScriptCalls;
void noteScriptCall(const FunctionDecl& d);
inline void traceScriptCall(const FunctionDecl& d) {
  if (gTraceScriptCalls) noteScriptCall(d);
}

}  // namespace llmspell

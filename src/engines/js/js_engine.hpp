// The JavaScript engine (V8 from Debian's libnode).
#pragma once

#include "llmspell/engines/engine.hpp"

namespace v8 {
class Value;
template <typename T>
class FunctionCallbackInfo;
}  // namespace v8

namespace llmspell {

Engine& jsEngine();

// Defines a global function backed by a raw V8 callback in a context made by jsEngine(), for
// embedders that need one (benchmarks comparing it with a registry call). False for a context of
// another engine.
bool jsDefineRawFunction(ScriptContext& ctx, const char* name, void (*callback)(const v8::FunctionCallbackInfo<v8::Value>&));

}  // namespace llmspell

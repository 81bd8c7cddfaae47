// Script functions as hook handlers: what `hooks.before/after/around` register, and what an
// agent's own `hooks` config becomes.
#pragma once

#include "llmspell/bridge/registry.hpp"
#include "llmspell/hooks/hooks.hpp"

namespace llmspell {

// Around hooks get a `next` function value: next() continues with the current args, next(args)
// with new ones.
HookFn scriptHook(FunctionPtr fn, HookKind kind);

}  // namespace llmspell

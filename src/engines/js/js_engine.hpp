// The JavaScript engine (V8 from Debian's libnode).
#pragma once

#include "llmspell/engines/engine.hpp"

namespace llmspell {

Engine& jsEngine();

}  // namespace llmspell

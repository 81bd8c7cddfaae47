// The spell's positional arguments (`llmspell run spell.lua -- 4 2 0`): set by the runner as a
// RunContext service, read by the bridge as spell.args.
#pragma once

#include <string>
#include <vector>

namespace llmspell {

struct SpellArgs {
  std::vector<std::string> list;
};

}  // namespace llmspell

// A guard for JSON text from scripts: the JSON-to-Value conversion recurses once per nesting
// level, so absurdly nested documents are refused before parsing instead of exhausting the stack.
#pragma once

#include <string>
#include <string_view>

#include "llmspell/core/error.hpp"

namespace llmspell {

inline constexpr int kMaxJsonDepth = 512;

// Throws Exception(invalid_argument) naming `fname` when `text` nests deeper than kMaxJsonDepth.
inline void checkJsonDepth(std::string_view text, std::string_view fname) {
  int depth = 0;
  bool inString = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (inString) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        inString = false;
    } else if (c == '"') {
      inString = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth)
        fail(codes::kInvalidArgument, std::string(fname) + ": the JSON is nested deeper than " +
                                          std::to_string(kMaxJsonDepth) + " levels");
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
}

}  // namespace llmspell

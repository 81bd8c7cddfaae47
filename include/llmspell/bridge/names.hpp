// How each language names the registry's snake_case functions, for the engines that bind them
// and the docs that describe them (the TypeScript declarations must match the JS binding).
#pragma once

#include <cctype>
#include <string>
#include <string_view>

namespace llmspell {

// JavaScript's names: "count_tokens" -> "countTokens", "recv_any" -> "recvAny".
inline std::string camelCase(std::string_view snake) {
  std::string out;
  bool up = false;
  for (char ch : snake) {
    if (ch == '_') {
      up = !out.empty();
      continue;
    }
    out += up ? static_cast<char>(toupper(static_cast<unsigned char>(ch))) : ch;
    up = false;
  }
  return out;
}

// Registry globals the JS engine does not bind: JavaScript has its own `await` and `async`.
inline bool jsSkipsGlobal(std::string_view snake) { return snake == "await" || snake == "async"; }

}  // namespace llmspell

// `llmspell repl`'s line reader. The session itself (one context, expressions printed, errors
// reported without ending it) is the spell layer's runner in REPL mode.
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "cli/commands.hpp"

namespace llmspell::cli {

std::function<std::optional<std::string>(bool)> replReader() {
  const bool tty = isatty(STDIN_FILENO) != 0;
  if (tty) std::fprintf(stderr, "llmspell repl: expressions print their value; Ctrl-D ends the session\n");
  return [tty](bool continuation) -> std::optional<std::string> {
    if (tty) {
      std::fputs(continuation ? ">> " : "> ", stdout);
      std::fflush(stdout);
    }
    std::string line;
    if (!std::getline(std::cin, line)) {
      if (tty) std::fputc('\n', stdout);
      return std::nullopt;
    }
    return line;
  };
}

}  // namespace llmspell::cli

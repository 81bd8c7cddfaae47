// Sub-commands of the llmspell CLI that are more than a call into the spell layer.
#pragma once
#include <optional>
#include <functional>

#include <string>

namespace llmspell::cli {

// `llmspell check SPELL`: the manifest, the syntax, then the lint (cli/lint.hpp). Prints
// `file:line:col: severity[code]: message` lines (or, with format "json", one JSON array of
// {file, line, column, severity, code, message}). Exit code: 1 with errors (or, when strict,
// warnings), else 0; 2 when the spell is not there.
struct CheckOptions {
  std::string format = "text";  // text | json
  bool strict = false;
};
int checkSpell(const std::string& path, const CheckOptions& opts = {});
// `llmspell new NAME`: scaffolds a working spell directory. Exit code.
int newSpell(const std::string& name, const std::string& engine);
// `llmspell docs --format F`. Exit code.
int docs(const std::string& format);

// `llmspell logs`: the LLM call log (<data dir>/calls.db, or $LLMSPELL_CALL_LOG), newest first.
struct LogsOptions {
  std::string model;   // model or provider
  std::string since;   // "30s", "10m", "2h", "7d", or a date "2026-11-25[THH:MM[:SS]]" (UTC)
  std::string status;  // ok | error | an error code
  int limit = 50;
  bool json = false;
  std::string db;      // explicit database file
};
int logs(const LogsOptions& o);

// `llmspell repl`: reads chunks from stdin, with a prompt ("> ", or ">> " inside an unfinished
// chunk) when stdin is a terminal. Plain line reading: no editing or history (wrap it in rlwrap).
std::function<std::optional<std::string>(bool continuation)> replReader();

}  // namespace llmspell::cli

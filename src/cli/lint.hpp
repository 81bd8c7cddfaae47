// `llmspell check`'s lint: what a spell gets wrong about the registry (unknown functions and
// methods, unknown option fields, argument counts), grants its manifest lacks, params it never
// reads, and globals assigned by mistake. See docs/api.md ("Checking a spell") for the codes.
//
// Why a scanner of our own and luacheck (not one or the other): the registry-aware checks are
// the same in Lua, JavaScript and Tengo, so they run on one engine-neutral call-site scanner (a
// tokenizer per language; the analysis is shared). luacheck, driven by read_globals generated
// from the registry, would report `llm.chta` for Lua only; it knows nothing of argument counts,
// option fields or grants. What luacheck does well and a call-site scanner cannot, scope
// analysis (a global set inside a function, an undefined global read, unused locals), it does
// for Lua when it is installed; without it those checks are skipped, and the output says so.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "llmspell/spell/spell.hpp"

namespace llmspell::cli {

struct LintDiagnostic {
  std::string file;
  int line = 0;    // 1-based; 0 when the problem is the whole file
  int column = 0;  // 1-based byte column; 0 when not known
  std::string severity;  // "error", "warning" or "note"
  std::string code;      // stable: unknown_function, unknown_option, arg_count, ...
  std::string message;
  std::string toString() const;  // "file:line:col: severity[code]: message"
};

enum class Lang { kLua, kJs, kTengo };

struct Token {
  enum Kind { kIdent, kNumber, kString, kPunct, kEnd };
  Kind kind = kEnd;
  std::string text;  // the identifier or punctuation; a string literal's contents
  int line = 0, col = 0;
};

// Identifiers (keywords included), numbers, string literals and punctuation, comments dropped.
// Lenient: text that is not valid in the language still tokenizes (the syntax check runs first).
std::vector<Token> tokenize(std::string_view source, Lang lang);

struct LintInput {
  std::string file;    // the entry file, as diagnostics name it
  std::string source;
  Lang lang = Lang::kLua;
  const Manifest* manifest = nullptr;  // the spell.yaml beside it, when there is one
  std::string manifestFile;
  // Sources of the spell's other files (included or required), searched for params it reads.
  std::vector<std::string> otherSources;
  bool checkParams = true;  // once per spell: false for its other files
};

std::vector<LintDiagnostic> lintSpell(const LintInput& in);

}  // namespace llmspell::cli

// Sub-commands of the llmspell CLI that are more than a call into the spell layer.
#pragma once

#include <string>

namespace llmspell::cli {

// `llmspell check SPELL`: syntax and manifest; prints diagnostics with line numbers. Exit code.
int checkSpell(const std::string& path);
// `llmspell new NAME`: scaffolds a working spell directory. Exit code.
int newSpell(const std::string& name, const std::string& engine);
// `llmspell docs --format F`. Exit code.
int docs(const std::string& format);

}  // namespace llmspell::cli

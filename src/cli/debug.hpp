// `llmspell debug` (a terminal debugger on stdin/stderr) and `llmspell dap` (a Debug Adapter
// Protocol server), both front ends of the engines' DebugSession (llmspell/engines/debug.hpp).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "llmspell/engines/debug.hpp"
#include "llmspell/spell/spell.hpp"

namespace llmspell::cli {

// Reads setup commands (break, catch, watch...) from stdin until `run`, and returns the session
// to attach, or null when the input asked to quit before running. `spellPath` is the file a bare
// `break LINE` means.
std::shared_ptr<DebugSession> terminalDebugger(const std::string& spellPath);

// `llmspell dap`: serves one debug session over stdio (port 0) or TCP on 127.0.0.1:port, then
// exits. `runSpellWith` runs the launched spell (the CLI's own runner, so that its limits and
// flags mean what they mean for `run`). Exit code.
int dap(int port, const std::function<RunResult(RunOptions&)>& runSpellWith);

}  // namespace llmspell::cli

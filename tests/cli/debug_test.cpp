// The debugger through the real binary: `llmspell debug` driven by commands piped to its stdin,
// and `llmspell dap` driven by a DAP client nobody here wrote (the DebugClient of
// @vscode/debugadapter-testsupport from npm, installed into third_party_data/ by
// scripts/setup.sh; those tests are skipped, with a message, when node or the package is missing).
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "support/cli.hpp"

namespace fs = std::filesystem;

namespace {

using llmspell::test::cliPath;
using llmspell::test::runCli;
using llmspell::test::runShell;
using llmspell::test::shellQuote;

const std::string kSource = LLMSPELL_SOURCE_DIR;
const std::string kSpells = kSource + "/tests/cli/debug";

std::string supportPath() { return kSource + "/third_party_data/node_modules/@vscode/debugadapter-testsupport"; }

std::string clientMissing() {
  if (!fs::exists(supportPath() + "/package.json"))
    return "@vscode/debugadapter-testsupport is not installed (" + supportPath() + "): run scripts/setup.sh";
  if (runShell("command -v node >/dev/null 2>&1").exit != 0) return "node is not on PATH";
  return "";
}

// `llmspell debug SPELL` with `commands` on stdin; stderr (the debugger's words) in `err`.
llmspell::test::CliResult debug(const std::string& spell, const std::string& commands, const std::string& flags = "") {
  return runCli("debug " + shellQuote(kSpells + "/" + spell) + " " + flags, commands);
}

TEST(TerminalDebugger, LuaBreakpointStepLocalsPrintBacktrace) {
  auto r = debug("lua/steps.lua",
                 "break 2 if b == 2\n"
                 "run\n"
                 "bt\n"
                 "locals\n"
                 "print a + b\n"
                 "next\n"
                 "next\n"
                 "next\n"
                 "locals\n"
                 "print t\n"
                 "continue\n");
  EXPECT_EQ(r.exit, 1) << r.err;  // the spell ends in its error
  // The condition skipped the first call (b == 1).
  EXPECT_NE(r.err.find("breakpoint 1 at steps.lua:2 if b == 2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("stopped at breakpoint 1 at steps.lua:2 (add)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(">   2    local s = a + b"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("  > #0 steps.lua:2 (add)\n    #1 steps.lua:8 (main chunk)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("a = 1\nb = 2\n"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("a + b = 3"), std::string::npos) << r.err;
  // next: over the return, back to the loop, then its body.
  EXPECT_NE(r.err.find("stopped (step) at steps.lua:3 (add)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("stopped (step) at steps.lua:7 (main chunk)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("stopped (step) at steps.lua:8 (main chunk)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("total = 3\ni = 3"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("t = {list = table (3 entries), x = 1}"), std::string::npos) << r.err;
}

TEST(TerminalDebugger, LuaCoroutineUpvaluesAndErrorStop) {
  auto r = debug("lua/steps.lua",
                 "break steps.lua:12\n"
                 "run\n"
                 "bt\n"
                 "print inner\n"
                 "print k\n"
                 "step\n"
                 "continue\n"
                 "print why\n"
                 "frame 2\n"
                 "print total\n"
                 "continue\n");
  EXPECT_EQ(r.exit, 1) << r.err;
  // Inside coroutine.wrap: its frames above the main chunk's (the engine's prelude hidden).
  EXPECT_NE(r.err.find("stopped at breakpoint 1 at steps.lua:12"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("prelude"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("#2 steps.lua:14 (main chunk)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("inner = 40"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("k = 4"), std::string::npos) << r.err;
  // A step over the yield comes out where the task goes on.
  EXPECT_NE(r.err.find("stopped (step) at steps.lua:14 (main chunk)"), std::string::npos) << r.err;
  // An uncaught error stops where it was raised, with the frame's locals.
  EXPECT_NE(r.err.find("stopped on error: error[script_error]: because no reason at steps.lua:17 (fail)"),
            std::string::npos) << r.err;
  EXPECT_NE(r.err.find("why = \"because no reason\""), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("total = 6"), std::string::npos) << r.err;
}

TEST(TerminalDebugger, LuaFinishWatchAndTaskThreads) {
  auto r = debug("lua/main.lua",
                 "watch doubled\n"
                 "break 2\n"
                 "run\n"
                 "finish\n"
                 "threads\n"
                 "thread 1\n"
                 "bt\n"
                 "catch off\n"
                 "continue\n");
  EXPECT_EQ(r.exit, 1) << r.err;
  EXPECT_NE(r.err.find("stopped at breakpoint 1 at main.lua:2 (helper)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("watch 1: doubled = nil"), std::string::npos) << r.err;  // not in helper's scope
  EXPECT_NE(r.err.find("stopped (step) at main.lua:9"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("watch 1: doubled = 40"), std::string::npos) << r.err;
  // The spawned task runs (after its sleep) while the main chunk waits in await.
  EXPECT_NE(r.err.find("* thread 2 task 2 (main.lua:4)\n  thread 1 main"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("#1 main.lua:12 (main chunk)"), std::string::npos) << r.err;
  // catch off: the error ends the run without a stop.
  EXPECT_EQ(r.err.find("stopped on error"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("result 43"), std::string::npos) << r.out;
}

TEST(TerminalDebugger, LuaBreakpointInARequiredFile) {
  auto r = debug("lua/uses_lib.lua", "break lib/util.lua:3\nrun\nbt\nprint x\ncontinue\n");
  EXPECT_EQ(r.exit, 0) << r.err;
  EXPECT_NE(r.err.find("stopped at breakpoint 1 at lib/util.lua:3 (twice)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("    #1 uses_lib.lua:2 (main chunk)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("x = 5"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("10"), std::string::npos) << r.out;
}

TEST(TerminalDebugger, LuaSpellStillHasNoDebugLibrary) {
  std::string dir = testing::TempDir() + "/llmspell_debug_" + std::to_string(getpid());
  fs::create_directories(dir);
  std::ofstream(dir + "/probe.lua") << "local x = 1\nreturn pcall(function() return debug.getinfo(1) end)\n";
  auto r = runCli("debug " + shellQuote(dir + "/probe.lua"), "break 2\nrun\nprint debug.getinfo\ncontinue\n");
  EXPECT_EQ(r.exit, 0) << r.err;
  EXPECT_NE(r.err.find("debug is not available in spells"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("false"), std::string::npos) << r.out;
}

// A stop longer than the time limit does not count against it (nor against the hard stop that
// follows the limit by 2 s): the driver holds the spell stopped for 3.5 s under --timeout 0.5.
TEST(TerminalDebugger, PausedTimeIsNotTheSpellsTime) {
  std::string cmd = "(printf 'break 2\\nrun\\n'; sleep 3.5; printf 'print x\\ncontinue\\n') | " + cliPath() +
                    " debug " + shellQuote(kSpells + "/lua/timed.lua") + " --timeout 0.5 2>&1";
  auto r = runShell(cmd);
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_NE(r.out.find("x = 41"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("42"), std::string::npos) << r.out;
}

TEST(TerminalDebugger, EndOfInputRunsToTheEnd) {
  auto r = debug("lua/main.lua", "break 6\nrun\n");
  EXPECT_EQ(r.exit, 1) << r.err;
  EXPECT_NE(r.out.find("result 43"), std::string::npos) << r.out;
  EXPECT_EQ(r.err.find("stopped on error"), std::string::npos) << r.err;
}

TEST(TerminalDebugger, QuitEndsTheSpell) {
  auto r = debug("lua/main.lua", "break 6\nrun\nquit\n");
  EXPECT_EQ(r.exit, 1) << r.err;
  EXPECT_EQ(r.out.find("result"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("the debugger ended the spell"), std::string::npos) << r.err;
}

// ---- Tengo: the same debugger through the Tengo VM's debug hook ----

TEST(TerminalDebugger, TengoBreakpointStepLocalsPrintBacktrace) {
  auto r = debug("tengo/steps.tengo",
                 "break 2 if b == 2\n"
                 "run\n"
                 "bt\n"
                 "locals\n"
                 "print a + b\n"
                 "next\n"
                 "next\n"
                 "next\n"
                 "next\n"
                 "print i\n"
                 "print total\n"
                 "print t\n"
                 "continue\n");
  EXPECT_EQ(r.exit, 1) << r.err;  // the spell ends in its runtime error
  // The condition skipped the first call (b == 1).
  EXPECT_NE(r.err.find("stopped at breakpoint 1 at steps.tengo:2 (add)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(">   2    s := a + b"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("  > #0 steps.tengo:2 (add)\n    #1 steps.tengo:8 (main)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("a = 1\nb = 2\n"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("a + b = 3"), std::string::npos) << r.err;
  // next: over the return, to the loop's post statement (once, not again for its condition),
  // then its body.
  EXPECT_NE(r.err.find("stopped (step) at steps.tengo:3 (add)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("stopped (step) at steps.tengo:7 (main)\n>   7  for i := 1; i <= 3; i++ {\n"
                       "stopped (step) at steps.tengo:8 (main)"),
            std::string::npos) << r.err;
  // The loop's `i` is a block's name in the main function; `total` a global. At the post
  // statement of the third round: i++ has not run yet.
  EXPECT_NE(r.err.find("i = 3\ntotal = 6\n"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("t = {list = array (3 elements), x = 1}"), std::string::npos) << r.err;
}

TEST(TerminalDebugger, TengoClosureUpvaluesEvaluateAndErrorStop) {
  auto r = debug("tengo/steps.tengo",
                 "break 13\n"
                 "run\n"
                 "bt\n"
                 "upvalues\n"
                 "print inner + k\n"
                 "print t.list[1] * 10\n"
                 "print sleep(1)\n"
                 "print nosuch\n"
                 "print 1 +\n"
                 "continue\n"
                 "locals\n"
                 "print why\n"
                 "frame 1\n"
                 "print v\n"
                 "continue\n");
  EXPECT_EQ(r.exit, 1) << r.err;
  EXPECT_NE(r.err.find("stopped at breakpoint 1 at steps.tengo:13 (function at steps.tengo:12)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("    #1 steps.tengo:17 (main)"), std::string::npos) << r.err;
  // A closure's free variables are its upvalues.
  EXPECT_NE(r.err.find("inner = 40\nk = 4\n"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("inner + k = 44"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("t.list[1] * 10 = 20"), std::string::npos) << r.err;
  // An expression that waits is refused, and the spell goes on as before.
  EXPECT_NE(r.err.find("sleep(1): error: an expression that waits"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nosuch: error: unresolved reference 'nosuch'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("1 +: error: syntax error:"), std::string::npos) << r.err;
  // A runtime error stops where it happened, with the frame's locals.
  EXPECT_NE(r.err.find("stopped on error: invalid operation: string / int at steps.tengo:20 (fail)"),
            std::string::npos) << r.err;
  EXPECT_NE(r.err.find("msg = \"no reason\"\nwhy = \"because no reason\""), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("#1 steps.tengo:22 (main)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("v = 44"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("error[script_error]: invalid operation: string / int (at steps.tengo:20)"), std::string::npos) << r.err;
}

TEST(TerminalDebugger, TengoFinishWatchAndTaskThreads) {
  auto r = debug("tengo/main.tengo",
                 "watch doubled\n"
                 "break 2\n"
                 "run\n"
                 "finish\n"
                 "threads\n"
                 "thread 1\n"
                 "bt\n"
                 "catch off\n"
                 "continue\n");
  EXPECT_EQ(r.exit, 1) << r.err;
  EXPECT_NE(r.err.find("stopped at breakpoint 1 at main.tengo:2 (helper)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("watch 1: doubled: error: unresolved reference 'doubled'"), std::string::npos) << r.err;  // not in helper's scope
  EXPECT_NE(r.err.find("stopped (step) at main.tengo:9 (worker)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("watch 1: doubled = 40"), std::string::npos) << r.err;
  // The spawned task runs (after its sleep) while the main chunk waits in await.
  EXPECT_NE(r.err.find("* thread 2 task 2 (main.tengo:4)\n  thread 1 main"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("  > #0 main.tengo:12 (main)"), std::string::npos) << r.err;
  // catch off: the error ends the run without a stop.
  EXPECT_EQ(r.err.find("stopped on error"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("result 43"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("integer divide by zero"), std::string::npos) << r.err;
}

TEST(TerminalDebugger, TengoPausedTimeIsNotTheSpellsTime) {
  std::string cmd = "(printf 'break 2\\nrun\\n'; sleep 3.5; printf 'print x\\ncontinue\\n') | " + cliPath() +
                    " debug " + shellQuote(kSpells + "/tengo/timed.tengo") + " --timeout 0.5 2>&1";
  auto r = runShell(cmd);
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_NE(r.out.find("x = 41"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("42"), std::string::npos) << r.out;
}

TEST(TerminalDebugger, TengoQuitEndsTheSpell) {
  auto r = debug("tengo/main.tengo", "break 6\nrun\nquit\n");
  EXPECT_EQ(r.exit, 1) << r.err;
  EXPECT_EQ(r.out.find("result"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("the debugger ended the spell"), std::string::npos) << r.err;
}

// JavaScript, through V8's inspector: the same commands on the same spells.
TEST(TerminalDebugger, JsBreakpointStepLocalsPrintBacktrace) {
  auto r = debug("js/steps.js",
                 "break 2 if b == 2\n"
                 "run\n"
                 "bt\n"
                 "locals\n"
                 "print a + b\n"
                 "next\n"
                 "next\n"
                 "next\n"
                 "locals\n"
                 "print t\n"
                 "continue\n");
  EXPECT_EQ(r.exit, 1) << r.err;
  EXPECT_NE(r.err.find("breakpoint 1 at steps.js:2 if b == 2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("stopped at breakpoint 1 at steps.js:2 (add)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("  > #0 steps.js:2 (add)\n    #1 steps.js:8 (main chunk)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("a = 1\nb = 2\n"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("a + b = 3"), std::string::npos) << r.err;
  // A step goes to the next line, not to the next expression of the same one.
  EXPECT_NE(r.err.find("stopped (step) at steps.js:3 (add)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("stopped (step) at steps.js:7 (main chunk)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("stopped (step) at steps.js:8 (main chunk)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("i = 3\n"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("total = 3\n"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("t = {x = 1, list = Array(3)}"), std::string::npos) << r.err;
}

TEST(TerminalDebugger, JsErrorStopFramesAndModuleScope) {
  auto r = debug("js/steps.js", "run\nprint why\nframe 1\nprint total\nprint gen(4).next().value\ncontinue\n");
  EXPECT_EQ(r.exit, 1) << r.err;
  EXPECT_NE(r.err.find("stopped on error: LlmspellError: because no reason at steps.js:17 (fail)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("why = \"because no reason\""), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("total = 6"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("gen(4).next().value = 40"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("error[script_error]: because no reason (at steps.js:17)"), std::string::npos) << r.err;
}

// A breakpoint in an async function after an await: it resumes from the loop, and stops there.
TEST(TerminalDebugger, JsAsyncBreakpointAfterSleepFinishAndCatchOff) {
  auto r = debug("js/main.js",
                 "watch doubled\n"
                 "break 2\n"
                 "break 6\n"
                 "run\n"
                 "print n\n"
                 "continue\n"
                 "finish\n"
                 "next\n"
                 "threads\n"
                 "catch off\n"
                 "continue\n");
  EXPECT_EQ(r.exit, 1) << r.err;
  EXPECT_NE(r.err.find("stopped at breakpoint 2 at main.js:6 (worker)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("n = 20"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("stopped at breakpoint 1 at main.js:2 (helper)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("stopped (step) at main.js:9 (worker)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("watch 1: doubled = 40"), std::string::npos) << r.err;
  // Out of the task's function, on into the main chunk after its await.
  EXPECT_NE(r.err.find("stopped (step) at main.js:13 (main chunk)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("* thread 1 main"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("stopped on error"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("result 43"), std::string::npos) << r.out;
}

TEST(TerminalDebugger, JsBreakpointInAnImportedFile) {
  auto r = debug("js/uses_lib.js", "break lib/util.js:3\nrun\nbt\nprint x\ncontinue\n");
  EXPECT_EQ(r.exit, 0) << r.err;
  EXPECT_NE(r.err.find("stopped at breakpoint 1 at lib/util.js:3 (twice)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("    #1 uses_lib.js:2 (main chunk)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("x = 5"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("10"), std::string::npos) << r.out;
}

// The inspector is the debugger's, never the spell's; and what the debugger evaluates runs
// under the spell's sandbox (no eval from strings) and limits.
TEST(TerminalDebugger, JsSpellStillHasNoInspectorAndExpressionsAreSandboxed) {
  std::string dir = testing::TempDir() + "/llmspell_debug_js_" + std::to_string(getpid());
  fs::create_directories(dir);
  std::ofstream(dir + "/probe.js") << "const x = 1;\n"
                                      "let r;\n"
                                      "try { await import('node:inspector'); r = 'imported'; } catch (e) { r = e.code; }\n"
                                      "print(r, typeof process, typeof require);\n";
  auto r = runCli("debug " + shellQuote(dir + "/probe.js") + " --timeout 1",
                  "break 2\nrun\nprint eval('x')\nprint (() => { for (;;) {} })()\nprint x + 1\ncatch off\ncontinue\n");
  EXPECT_EQ(r.exit, 0) << r.err;
  EXPECT_NE(r.err.find("code generation from strings"), std::string::npos) << r.err;
  // The spell's clock stops while it is stopped, but an expression still has its time limit.
  EXPECT_NE(r.err.find("the expression ran past the spell's time limit of 1000 ms"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("x + 1 = 2"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("permission_denied\tundefined\tundefined"), std::string::npos) << r.out;
}

// As for Lua: a stop longer than the time limit does not count against it.
TEST(TerminalDebugger, JsPausedTimeIsNotTheSpellsTime) {
  std::string cmd = "(printf 'break 2\\nrun\\n'; sleep 3.5; printf 'print x\\ncontinue\\n') | " + cliPath() +
                    " debug " + shellQuote(kSpells + "/js/timed.js") + " --timeout 0.5 2>&1";
  auto r = runShell(cmd);
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_NE(r.out.find("x = 41"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("42"), std::string::npos) << r.out;
}

TEST(TerminalDebugger, JsQuitEndsTheSpell) {
  auto r = debug("js/main.js", "break 6\nrun\nquit\n");
  EXPECT_EQ(r.exit, 1) << r.err;
  EXPECT_EQ(r.out.find("result"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("the debugger ended the spell"), std::string::npos) << r.err;
}

void dapSession(const std::string& engineDir, const std::string& ext) {
  std::string cmd = "node " + shellQuote(kSource + "/tests/cli/debug/dap_session.js") + " " + shellQuote(cliPath()) +
                    " " + shellQuote(kSpells + "/" + engineDir) + " " + ext + " " + shellQuote(supportPath()) + " 2>&1";
  auto r = runShell(cmd);
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_NE(r.out.find("dap session ok"), std::string::npos) << r.out;
}

TEST(DapServer, LuaFullSession) {
  if (auto why = clientMissing(); !why.empty()) GTEST_SKIP() << why;
  dapSession("lua", ".lua");
}

TEST(DapServer, TengoFullSession) {
  if (auto why = clientMissing(); !why.empty()) GTEST_SKIP() << why;
  dapSession("tengo", ".tengo");
}

TEST(DapServer, JsFullSession) {
  if (auto why = clientMissing(); !why.empty()) GTEST_SKIP() << why;
  dapSession("js", ".js");
}

}  // namespace

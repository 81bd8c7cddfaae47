// Command-line behaviour through the real binary: the REPL session, flag checks (--max-cost
// against a provider is in tests/agent/agent_spell_test.cpp) and the hard stop of a spell stuck
// in a built-in call past its time limit.
#include <gtest/gtest.h>

#include "support/cli.hpp"

namespace {

// stdout and stderr together, as a person at the terminal sees them.
llmspell::test::CliResult runCli(const std::string& args, const std::string& input) {
  return llmspell::test::runCli(args, input, /*mergeStderr=*/true);
}

TEST(Repl, ExpressionsPrintGlobalsPersistErrorsDoNotEndTheSession) {
  auto r = runCli("repl",
                  "x = 40\n"
                  "x + 2\n"
                  "function double(a)\n"
                  "  return a * 2\n"
                  "end\n"
                  "double(21)\n"
                  "error({code = 'not_found', message = 'nope'})\n"
                  "local t = {1, 2,\n"
                  "  3}\n"
                  "{a = 1}\n"
                  "llm.chat('echoed', {model = 'mock/echo'}).text\n"
                  "fs.read('/etc/hostname')\n"
                  "x\n");
  EXPECT_EQ(r.exit, 0);
  EXPECT_EQ(r.out,
            "42\n"
            "42\n"
            "error[not_found]: nope\n"
            "{\"a\":1}\n"
            "echoed\n"
            "error[permission_denied]: read access to /etc/hostname is not granted; run with --allow-read=/etc/hostname or add "
            "it to permissions.read in spell.yaml\n"
            "40\n");
}

TEST(Repl, SyntaxErrorsAreReported) {
  auto r = runCli("repl", "x = = 1\nprint('still here')\n");
  EXPECT_EQ(r.exit, 0);
  EXPECT_NE(r.out.find("error[invalid_argument]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("still here"), std::string::npos) << r.out;
}

// Tengo: each line is compiled on its own, but sees the globals of the lines before it (values
// and imported modules); a function from an earlier line explains why it cannot be called.
TEST(Repl, TengoGlobalsCarryOverBetweenLines) {
  auto r = runCli("repl -e tengo",
                  "x := 5\nfmt := import(\"fmt\")\nfmt.println(x * 2)\n"
                  "obj := {name: \"n\", list: [1, 2, 3]}\nfmt.println(obj.name, len(obj.list))\n"
                  "f := func(a) { return a + 1 }; fmt.println(f(1))\nf(2)\n"
                  "x := 7\nx = 8\nfmt.println(x)\n");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_EQ(r.out,
            "10\nn3\n2\n"
            "error[script_error]: 'f' holds a function defined on an earlier line; in the Tengo REPL functions do not "
            "carry over between lines (define and use it on one line, or run a spell file)\n"
            "error[invalid_argument]: 'x' redeclared in this block\n8\n");
}

TEST(MaxCost, RefusesANonPositiveAmount) {
  auto bad = runCli("exec 'return 1' --max-cost -1", "");
  EXPECT_EQ(bad.exit, 2) << bad.out;
}

// string.find backtracks exponentially on this pattern (minutes of CPU) and the Lua hook cannot
// interrupt a C function: past its time limit plus the grace the process is stopped, with the
// same error report as any limit. (`timeout 300` only keeps a regression from hanging CTest.)
TEST(Limits, BuiltinCallStuckPastTheTimeLimitStopsTheProcess) {
  std::string code = "print('before') local s = string.rep('a', 40) .. 'c' "
                     "return string.find(s, string.rep('a*', 16) .. 'b')";
  auto text = llmspell::test::runShell("timeout 300 " + llmspell::test::cliPath() + " exec " +
                                       llmspell::test::shellQuote(code) + " --timeout 1 2>&1");
  EXPECT_EQ(text.exit, 3) << text.out;
  EXPECT_NE(text.out.find("before"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("error[limit_exceeded]: time limit of 1s exceeded, and a built-in call"),
            std::string::npos) << text.out;

  auto json = llmspell::test::runShell("timeout 300 " + llmspell::test::cliPath() + " exec " +
                                       llmspell::test::shellQuote(code) + " --timeout 1 -o json");
  EXPECT_EQ(json.exit, 3) << json.out;
  EXPECT_NE(json.out.find("\"code\": \"limit_exceeded\""), std::string::npos) << json.out;
  EXPECT_NE(json.out.find("\"exit_code\": 3"), std::string::npos) << json.out;
}

}  // namespace

// A failed main chunk ends the spell: tasks it spawned are cancelled, not waited for (they used
// to keep the process alive until they ended, printing after the error was reported).
// (`timeout 120` only keeps a regression from hanging CTest.)
TEST(Runner, AFailedMainChunkCancelsItsSpawnedTasksInsteadOfWaitingForThem) {
  const std::pair<const char*, const char*> spells[] = {
      {"lua", "spawn(function() sleep(60) print('late') end) error('boom')"},
      {"js", "spawn(async () => { await sleep(60); print('late'); }); throw new Error('boom');"},
      {"tengo", "fmt := import(\"fmt\"); spawn(func() { if !is_error(sleep(60)) { fmt.println(\"late\") } }); z := 0; y := 1 / z"},
  };
  for (const auto& [engine, code] : spells) {
    auto r = llmspell::test::runShell("timeout 120 " + llmspell::test::cliPath() + " exec --engine " + engine + " " + llmspell::test::shellQuote(code) + " 2>&1");
    EXPECT_EQ(r.exit, 1) << engine << ": " << r.out;
    EXPECT_EQ(r.out.find("late"), std::string::npos) << engine << ": " << r.out;
  }
}

// Command-line behaviour through the real binary: the REPL session and flag checks (--max-cost
// against a provider is in tests/agent/agent_spell_test.cpp).
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

TEST(MaxCost, RefusesANonPositiveAmount) {
  auto bad = runCli("exec 'return 1' --max-cost -1", "");
  EXPECT_EQ(bad.exit, 2) << bad.out;
}

}  // namespace

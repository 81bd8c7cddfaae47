// Command-line behaviour through the real binary: the REPL session and flag checks (--max-cost
// against a provider is in tests/agent/agent_spell_test.cpp).
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <sys/wait.h>
#include <unistd.h>

namespace {

const std::string kCli = std::string(LLMSPELL_BINARY_DIR) + "/src/cli/llmspell";

struct RunResult {
  int exit = -1;
  std::string out;
};

// Runs the CLI with `input` on stdin; stdout and stderr together.
RunResult runCli(const std::string& args, const std::string& input) {
  std::string in = testing::TempDir() + "/cli_test_in_" + std::to_string(getpid()) + ".txt";
  std::ofstream(in) << input;
  std::string cmd = kCli + " " + args + " <" + in + " 2>&1";
  RunResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int st = pclose(p);
  r.exit = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
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

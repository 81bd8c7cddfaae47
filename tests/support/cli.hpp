// Running the real `llmspell` binary from a test: what every spell-level test needs.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace llmspell::test {

// The binary of this build tree.
inline std::string cliPath() { return std::string(LLMSPELL_BINARY_DIR) + "/src/cli/llmspell"; }

struct CliResult {
  int exit = -1;    // the exit code, -1 when killed by a signal
  std::string out;  // stdout (and stderr too when asked to merge them)
  std::string err;  // stderr
};

// 'text' for a POSIX shell command line.
inline std::string shellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

// Runs a shell command line; `out` is its stdout (add 2>&1 to the line to merge stderr).
inline CliResult runShell(const std::string& cmd) {
  CliResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int st = pclose(p);
  r.exit = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

// Runs `llmspell ARGS` through the shell (so ARGS may quote), with `input` on stdin.
inline CliResult runCli(const std::string& args, const std::string& input = "", bool mergeStderr = false) {
  std::string base = testing::TempDir() + "/llmspell_cli_" + std::to_string(getpid());
  std::string in = base + ".in", errFile = base + ".err";
  std::ofstream(in) << input;
  CliResult r = runShell(cliPath() + " " + args + " <" + in + (mergeStderr ? " 2>&1" : " 2>" + errFile));
  if (!mergeStderr) {
    std::ifstream e(errFile);
    std::stringstream ss;
    ss << e.rdbuf();
    r.err = ss.str();
  }
  return r;
}

}  // namespace llmspell::test

// Conformance runner: every case is a spell plus its expected output. A case is a file
// NAME.expected beside NAME.lua / NAME.tengo / NAME.js; each engine that has the file runs it
// through the llmspell binary with the same expectation.
//   conformance_runner [--bin PATH] DIR
// NAME.expected may start with "exit: N" (default 0); the rest is the expected stdout+stderr.
// NAME.args holds extra command-line arguments (one line, split on spaces). The run's cwd is the
// case's directory. Ends with the line "N passed, N failed, N skipped".
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string shellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

struct Outcome {
  int exit = -1;
  std::string output;
};

Outcome runCmd(const std::string& cmd) {
  Outcome o;
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) return o;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) o.output.append(buf, n);
  int st = pclose(f);
  o.exit = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return o;
}

// Engines compiled into the binary, from `llmspell docs --format json`-independent probing.
bool engineAvailable(const std::string& bin, const std::string& engine) {
  static std::vector<std::pair<std::string, bool>> cache;
  for (auto& [e, ok] : cache)
    if (e == engine) return ok;
  std::string probe = engine == "lua" ? "return 1" : engine == "tengo" ? "x := 1" : "1";
  auto o = runCmd(shellQuote(bin) + " exec --engine " + engine + " " + shellQuote(probe) + " 2>&1");
  bool ok = o.exit == 0;
  cache.emplace_back(engine, ok);
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  std::string bin = LLMSPELL_BIN;
  std::string dir;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--bin" && i + 1 < argc) bin = argv[++i];
    else dir = a;
  }
  if (dir.empty()) {
    std::cerr << "usage: conformance_runner [--bin PATH] DIR\n";
    return 2;
  }
  if (!fs::is_directory(dir)) {
    std::cerr << "conformance_runner: not a directory: " << dir << "\n";
    return 2;
  }
  // Lua is in every build: if it cannot run, the binary is broken, not the cases.
  if (!engineAvailable(bin, "lua")) {
    std::cerr << "conformance_runner: " << bin << " cannot run `exec 'return 1'`\n";
    std::cout << "0 passed, 1 failed, 0 skipped\n";
    return 1;
  }
  std::vector<fs::path> expectations;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ".expected") expectations.push_back(e.path());
  std::sort(expectations.begin(), expectations.end());

  int passed = 0, failed = 0, skipped = 0;
  for (const auto& exp : expectations) {
    fs::path base = exp;
    base.replace_extension();
    std::string want = slurp(exp);
    int wantExit = 0;
    if (want.rfind("exit: ", 0) == 0) {
      auto nl = want.find('\n');
      wantExit = std::stoi(want.substr(6, nl - 6));
      want = nl == std::string::npos ? "" : want.substr(nl + 1);
    }
    std::string args;
    if (fs::exists(base.string() + ".args")) {
      args = slurp(base.string() + ".args");
      while (!args.empty() && (args.back() == '\n' || args.back() == '\r')) args.pop_back();
    }
    std::string name = fs::relative(base, dir).string();
    bool any = false;
    for (const char* ext : {".lua", ".tengo", ".js"}) {
      fs::path src = base.string() + ext;
      if (!fs::exists(src)) continue;
      any = true;
      std::string engine = std::string(ext).substr(1);
      if (!engineAvailable(bin, engine)) {
        ++skipped;
        std::cout << "skip " << name << " [" << engine << "] (engine not in this build)\n";
        continue;
      }
      std::string cmd = "cd " + shellQuote(base.parent_path().string()) + " && timeout 120 " + shellQuote(bin) +
                        " run " + shellQuote(src.filename().string()) + " " + args + " 2>&1";
      Outcome o = runCmd(cmd);
      if (o.output == want && o.exit == wantExit) {
        ++passed;
        std::cout << "ok   " << name << " [" << engine << "]\n";
      } else {
        ++failed;
        std::cout << "FAIL " << name << " [" << engine << "]: exit " << o.exit << " (want "
                  << wantExit << ")\n--- want\n" << want << "--- got\n" << o.output << "---\n";
      }
    }
    if (!any) {
      ++skipped;
      std::cout << "skip " << name << " (no source file for any engine)\n";
    }
  }
  std::cout << passed << " passed, " << failed << " failed, " << skipped << " skipped\n";
  return failed == 0 ? 0 : 1;
}

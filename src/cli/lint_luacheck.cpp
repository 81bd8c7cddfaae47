// Lua's scope checks through luacheck (Debian's lua-check), with a configuration generated from
// the registry: the namespaces and globals the engine binds are read-only globals whose fields
// luacheck leaves alone (the call-site scanner checks those, with did-you-mean), and the Lua 5.4
// standard library is what the sandbox starts from. Only the warnings that mean a mistake are
// kept, under llmspell's codes: 111 (a global set inside a function) is global_assign, 113 (a
// global read that nothing defines) undefined_global, 211/213/231 (unused locals) unused_variable,
// 511 unreachable_code. Without luacheck these are skipped, with a note.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "cli/lint.hpp"
#include "llmspell/bridge/registry.hpp"

extern char** environ;

namespace llmspell::cli {

namespace {

namespace fs = std::filesystem;

// $LLMSPELL_LUACHECK (a path; "off" or empty disables it), else luacheck on PATH.
std::string findLuacheck() {
  if (const char* env = std::getenv("LLMSPELL_LUACHECK")) {
    std::string p = env;
    if (p.empty() || p == "off" || access(p.c_str(), X_OK) != 0) return "";
    return p;
  }
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    std::string p = dir + "/luacheck";
    if (access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

std::string config() {
  std::set<std::string> globals;
  for (const auto& ns : Registry::global().namespaces()) globals.insert(ns);
  for (const auto& f : Registry::global().functions()) {
    if (!f.ns.empty() || !f.self.empty()) continue;
    globals.insert(f.name);
    if (f.async) globals.insert(f.name + "_async");
  }
  std::string s =
      "std = 'lua54'\n"
      "allow_defined_top = true\n"
      "unused_args = false\n"
      "max_line_length = false\n"
      "only = {'111', '113', '211', '213', '231', '511'}\n"
      "read_globals = {\n";
  for (const auto& g : globals) s += "  " + g + " = {other_fields = true},\n";
  return s + "}\n";
}

// Runs `argv`, returning its standard output (stderr is dropped). nullopt when it cannot start.
std::optional<std::string> capture(const std::vector<std::string>& argv) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return std::nullopt;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    return std::nullopt;
  }
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0) out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  // luacheck exits 0 (clean), 1 (warnings) or 2 (errors); more is a failure of its own.
  if (!WIFEXITED(st) || WEXITSTATUS(st) > 2) return std::nullopt;
  return out;
}

}  // namespace

std::vector<LintDiagnostic> luacheckSpell(const LintInput& in) {
  std::vector<LintDiagnostic> out;
  std::string luacheck = findLuacheck();
  auto note = [&](const std::string& why) {
    out.push_back({in.file, 0, 0, "note", "skipped",
                   why + ": Lua's scope checks (global_assign, undefined_global, unused_variable) were skipped "
                         "(install Debian's lua-check, or set LLMSPELL_LUACHECK to its path)"});
  };
  if (luacheck.empty()) {
    note("luacheck is not installed");
    return out;
  }
  // The source as checked (the file may be a FIFO or change meanwhile) and the generated
  // configuration go to a private directory, removed afterwards.
  std::string tmpl = (fs::temp_directory_path() / "llmspell-check-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) {
    note("no temporary directory for luacheck");
    return out;
  }
  fs::path dir = tmpl;
  std::ofstream(dir / "spell.lua", std::ios::binary) << in.source;
  std::ofstream(dir / "luacheckrc") << config();
  std::string file = (dir / "spell.lua").string();
  auto res = capture({luacheck, "--config", (dir / "luacheckrc").string(), "--formatter", "plain", "--codes",
                      "--no-color", file});
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (!res) {
    note("luacheck failed to run");
    return out;
  }
  // spell.lua:3:5: (W111) setting non-standard global variable x
  std::istringstream lines(*res);
  std::string l;
  while (std::getline(lines, l)) {
    if (l.rfind(file + ":", 0) != 0) continue;
    int line = 0, col = 0;
    char kind = 0;
    int code = 0;
    int used = 0;
    if (std::sscanf(l.c_str() + file.size(), ":%d:%d: (%c%d)%n", &line, &col, &kind, &code, &used) < 4 || kind != 'W')
      continue;
    std::string msg = l.substr(file.size() + static_cast<size_t>(used));
    if (!msg.empty() && msg[0] == ' ') msg.erase(0, 1);
    std::string c = code == 111   ? "global_assign"
                    : code == 113 ? "undefined_global"
                    : code == 511 ? "unreachable_code"
                                  : "unused_variable";
    if (code == 111) msg += " inside a function (declare it local, or set it at the top level on purpose)";
    if (code == 113) msg += " (a typo, or a global another file of the spell defines?)";
    out.push_back({in.file, line, col, "warning", c, msg});
  }
  return out;
}

}  // namespace llmspell::cli

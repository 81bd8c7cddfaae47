// `llmspell test`: finds the test files under the given paths, runs each in its own process (this
// binary again, `test --child-report FILE`), at most --jobs at once, and reports the results
// pretty, as TAP 13 or as JUnit XML. The child runs the file as a spell and then test.run.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "cli/commands.hpp"
#include "llmspell/bridge/registry.hpp"
#include "llmspell/core/convert.hpp"

extern char** environ;

namespace llmspell::cli {

namespace fs = std::filesystem;

namespace {

const char* const kExtensions[] = {".lua", ".js", ".tengo"};

bool scriptFile(const fs::path& p) {
  std::string ext = p.extension().string();
  return std::find(std::begin(kExtensions), std::end(kExtensions), ext) != std::end(kExtensions);
}

bool testFileName(const fs::path& p) { return scriptFile(p) && p.stem().string().ends_with("_test"); }

std::string display(const fs::path& p) {
  std::string s = p.lexically_normal().string();
  while (s.starts_with("./")) s = s.substr(2);
  return s;
}

// Test files under `root`: *_test.<ext> anywhere, and every script in a tests/ folder. Hidden
// directories and node_modules are not searched.
void discover(const fs::path& root, std::vector<std::string>& out) {
  std::error_code ec;
  fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    std::string name = p.filename().string();
    if (it->is_directory(ec)) {
      if (name.starts_with(".") || name == "node_modules") it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec) || !scriptFile(p)) continue;
    bool inTests = false;
    for (const auto& part : p.lexically_relative(root).parent_path())
      inTests = inTests || part == "tests";
    if (testFileName(p) || inTests) out.push_back(display(p));
  }
}

std::string readAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string selfPath() {
  std::error_code ec;
  fs::path p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("llmspell") : p.string();
}

// One file's outcome, as its child reported it.
struct FileResult {
  std::string file;
  Value tests = Value::array();  // test.run's records
  std::optional<Error> error;    // the file could not run to its tests' end
  std::string output;            // what the child printed
  double seconds = 0;
  size_t passed = 0, failed = 0, skipped = 0;
};

FileResult readResult(const std::string& file, const std::string& report, const std::string& log, int status,
                      double seconds) {
  FileResult r;
  r.file = file;
  r.output = readAll(log);
  r.seconds = seconds;
  Value v;
  try {
    v = parseJson(readAll(report));
  } catch (const Exception&) {
  }
  if (v.get("report").isObject()) {
    r.tests = v.get("report").get("tests");
    if (!r.tests.isArray()) r.tests = Value::array();
  }
  if (v.get("error").isObject()) {
    r.error = Error::fromValue(v.get("error"));
  } else if (!v.isObject()) {
    std::string how = WIFSIGNALED(status) ? "was killed by signal " + std::to_string(WTERMSIG(status))
                                          : "exited with " + std::to_string(WEXITSTATUS(status));
    r.error = Error(codes::kInternal, "the test process " + how + " without a report");
  }
  for (const auto& t : r.tests.asArray()) {
    std::string s = t.getString("status");
    (s == "passed" ? r.passed : s == "failed" ? r.failed : r.skipped)++;
  }
  return r;
}

// "code: message", then "at source:line" on a line of its own (messages may span lines).
std::string errorText(const Error& err) {
  std::string s = err.code + ": " + err.message;
  if (err.line > 0) s += "\nat " + err.source + ":" + std::to_string(err.line);
  return s;
}
std::string errorText(const Value& e) { return errorText(Error::fromValue(e)); }

std::string indent(const std::string& text, const std::string& pad) {
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    out += pad + text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos) + "\n";
    pos = nl == std::string::npos ? text.size() : nl + 1;
  }
  return out;
}

void printPretty(const std::vector<FileResult>& files, double seconds) {
  size_t passed = 0, failed = 0, skipped = 0, broken = 0;
  for (const auto& f : files) {
    passed += f.passed;
    failed += f.failed;
    skipped += f.skipped;
    broken += f.error ? 1 : 0;
    bool ok = !f.error && f.failed == 0;
    std::string counts = std::to_string(f.passed) + " passed";
    if (f.failed) counts += ", " + std::to_string(f.failed) + " failed";
    if (f.skipped) counts += ", " + std::to_string(f.skipped) + " skipped";
    std::printf("%s %s (%s)\n", ok ? "PASS" : "FAIL", f.file.c_str(), counts.c_str());
    for (const auto& t : f.tests.asArray()) {
      if (t.getString("status") != "failed") continue;
      std::printf("  ✗ %s\n%s", t.getString("full_name").c_str(), indent(errorText(t.get("error")), "      ").c_str());
    }
    if (f.error) std::printf("  ✗ the file did not run to the end:\n%s", indent(errorText(*f.error), "      ").c_str());
    if (!ok && !f.output.empty()) std::printf("  output:\n%s", indent(f.output, "    | ").c_str());
  }
  std::printf("\nTests: %zu passed, %zu failed, %zu skipped, %zu total\n", passed, failed, skipped,
              passed + failed + skipped);
  std::printf("Files: %zu%s, %.2fs\n", files.size(),
              broken ? (", " + std::to_string(broken) + " did not run to the end").c_str() : "", seconds);
}

std::string tapEscape(std::string s) {
  std::string out;
  for (char ch : s) {
    if (ch == '#' || ch == '\\') out += '\\';
    out += ch == '\n' ? ' ' : ch;
  }
  return out;
}

// A YAML diagnostic block; JSON strings are YAML double-quoted scalars.
void tapDiag(const std::string& message, const std::string& code, const std::string& at, const std::string& output) {
  std::printf("  ---\n  message: %s\n  severity: fail\n", toJsonText(Value(message)).c_str());
  if (!code.empty()) std::printf("  code: %s\n", toJsonText(Value(code)).c_str());
  if (!at.empty()) std::printf("  at: %s\n", toJsonText(Value(at)).c_str());
  if (!output.empty()) std::printf("  output: %s\n", toJsonText(Value(output)).c_str());
  std::printf("  ...\n");
}

void printTap(const std::vector<FileResult>& files) {
  size_t n = 0;
  for (const auto& f : files) n += f.tests.asArray().size() + (f.error ? 1 : 0);
  std::printf("TAP version 13\n1..%zu\n", n);
  size_t i = 0;
  for (const auto& f : files) {
    for (const auto& t : f.tests.asArray()) {
      std::string st = t.getString("status");
      std::string desc = tapEscape(f.file + ": " + t.getString("full_name"));
      if (st == "skipped") {
        std::printf("ok %zu - %s # SKIP\n", ++i, desc.c_str());
      } else if (st == "passed") {
        std::printf("ok %zu - %s\n", ++i, desc.c_str());
      } else {
        std::printf("not ok %zu - %s\n", ++i, desc.c_str());
        const Value& e = t.get("error");
        std::string at = e.getInt("line") > 0 ? e.getString("source") + ":" + std::to_string(e.getInt("line")) : "";
        tapDiag(e.getString("message"), e.getString("code"), at, "");
      }
    }
    if (f.error) {
      std::printf("not ok %zu - %s\n", ++i, tapEscape(f.file + ": the file did not run to the end").c_str());
      std::string at = f.error->line > 0 ? f.error->source + ":" + std::to_string(f.error->line) : "";
      tapDiag(f.error->message, f.error->code, at, f.output);
    }
  }
}

std::string xmlEscape(const std::string& s) {
  std::string out;
  for (unsigned char ch : s) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\n': out += "&#10;"; break;
      default:
        // XML 1.0 has no other control characters.
        if (ch < 0x20 && ch != '\t' && ch != '\r') out += "?";
        else out += static_cast<char>(ch);
    }
  }
  return out;
}

std::string secs(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", s);
  return buf;
}

// The layout Jenkins' JUnit plugin and GitLab read: testsuites > testsuite (one per file) >
// testcase (classname = the file, name = "describe > test") > failure|skipped.
void printJunit(const std::vector<FileResult>& files, double seconds) {
  size_t tests = 0, failures = 0, errors = 0, skipped = 0;
  for (const auto& f : files) {
    tests += f.tests.asArray().size() + (f.error ? 1 : 0);
    failures += f.failed;
    errors += f.error ? 1 : 0;
    skipped += f.skipped;
  }
  std::printf("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
  std::printf("<testsuites name=\"llmspell\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" time=\"%s\">\n",
              tests, failures, errors, skipped, secs(seconds).c_str());
  for (const auto& f : files) {
    const std::string& cls = f.file;  // GitLab shows it as it is; a.lua and a.js stay apart
    std::printf("  <testsuite name=\"%s\" tests=\"%zu\" failures=\"%zu\" errors=\"%d\" skipped=\"%zu\" time=\"%s\">\n",
                xmlEscape(f.file).c_str(), f.tests.asArray().size() + (f.error ? 1 : 0), f.failed, f.error ? 1 : 0,
                f.skipped, secs(f.seconds).c_str());
    for (const auto& t : f.tests.asArray()) {
      std::string st = t.getString("status");
      std::printf("    <testcase classname=\"%s\" name=\"%s\" time=\"%s\"", xmlEscape(cls).c_str(),
                  xmlEscape(t.getString("full_name")).c_str(), secs(t.getNumber("duration_ms") / 1000).c_str());
      if (st == "passed") {
        std::printf("/>\n");
        continue;
      }
      std::printf(">\n");
      if (st == "skipped") {
        std::printf("      <skipped/>\n");
      } else {
        const Value& e = t.get("error");
        std::printf("      <failure message=\"%s\" type=\"%s\">%s</failure>\n", xmlEscape(e.getString("message")).c_str(),
                    xmlEscape(e.getString("code")).c_str(), xmlEscape(errorText(e)).c_str());
      }
      std::printf("    </testcase>\n");
    }
    if (f.error) {
      std::printf("    <testcase classname=\"%s\" name=\"(file)\" time=\"%s\">\n", xmlEscape(cls).c_str(), secs(f.seconds).c_str());
      std::printf("      <error message=\"%s\" type=\"%s\">%s</error>\n", xmlEscape(f.error->message).c_str(),
                  xmlEscape(f.error->code).c_str(), xmlEscape(f.error->toString()).c_str());
      std::printf("    </testcase>\n");
    }
    if (!f.output.empty()) std::printf("    <system-out>%s</system-out>\n", xmlEscape(f.output).c_str());
    std::printf("  </testsuite>\n");
  }
  std::printf("</testsuites>\n");
}

}  // namespace

std::string manifestForTest(const std::string& file) {
  std::error_code ec;
  fs::path p = fs::absolute(file, ec);
  fs::path dir = p.parent_path();
  if (fs::exists(dir / "spell.yaml", ec)) return (dir / "spell.yaml").string();
  // A test in a spell's tests/ folder (or below it) belongs to the spell above that folder.
  for (fs::path d = dir; d.has_parent_path() && d != d.parent_path(); d = d.parent_path()) {
    if (d.filename() == "tests" && fs::exists(d.parent_path() / "spell.yaml", ec))
      return (d.parent_path() / "spell.yaml").string();
  }
  return "";
}

void addTestGlobals(Registry& r) {
  for (const char* name : {"describe", "it", "expect", "before_each", "after_each", "before_all", "after_all"}) {
    const FunctionDecl* d = r.find(std::string("test.") + name);
    if (!d) continue;
    FunctionDecl g = *d;
    g.ns.clear();
    r.add(std::move(g));
  }
}

int runTests(const TestOptions& o) {
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::string> files;
  std::vector<std::string> roots = o.paths.empty() ? std::vector<std::string>{"."} : o.paths;
  for (const auto& root : roots) {
    std::error_code ec;
    if (!fs::exists(root, ec)) {
      std::fprintf(stderr, "error[invalid_argument]: %s does not exist\n", root.c_str());
      return 2;
    }
    if (fs::is_directory(root, ec)) {
      discover(root, files);
    } else if (scriptFile(root)) {
      files.push_back(display(root));
    } else {
      std::fprintf(stderr, "error[invalid_argument]: %s is not a test file (.lua, .js or .tengo)\n", root.c_str());
      return 2;
    }
  }
  std::sort(files.begin(), files.end());
  files.erase(std::unique(files.begin(), files.end()), files.end());
  if (files.empty()) {
    std::string where;
    for (const auto& r : roots) where += (where.empty() ? "" : ", ") + r;
    std::fprintf(stderr,
                 "error[not_found]: no test files in %s (test files are named NAME_test.lua, NAME_test.js or "
                 "NAME_test.tengo, or live in a tests/ folder)\n",
                 where.c_str());
    return 2;
  }

  char tmpl[] = "/tmp/llmspell-test-XXXXXX";
  const char* tmpBase = std::getenv("TMPDIR");
  std::string dirTemplate = std::string(tmpBase && *tmpBase ? tmpBase : "/tmp") + "/llmspell-test-XXXXXX";
  std::vector<char> buf(dirTemplate.begin(), dirTemplate.end());
  buf.push_back('\0');
  const char* tmp = mkdtemp(buf.data());
  if (!tmp) tmp = mkdtemp(tmpl);
  if (!tmp) {
    std::fprintf(stderr, "error[internal]: cannot create a temporary directory for the reports\n");
    return 1;
  }
  std::string tmpDir = tmp;

  unsigned jobs = o.jobs > 0 ? static_cast<unsigned>(o.jobs) : std::max(1u, std::thread::hardware_concurrency());
  std::string self = selfPath();
  struct Running {
    size_t index;
    std::chrono::steady_clock::time_point start;
  };
  std::map<pid_t, Running> running;
  std::vector<FileResult> results(files.size());
  size_t next = 0;
  auto reportOf = [&](size_t i) { return tmpDir + "/" + std::to_string(i) + ".json"; };
  auto logOf = [&](size_t i) { return tmpDir + "/" + std::to_string(i) + ".log"; };
  while (next < files.size() || !running.empty()) {
    while (next < files.size() && running.size() < jobs) {
      size_t i = next++;
      std::vector<std::string> args = {self, "test", "--child-report", reportOf(i)};
      if (!o.filter.empty()) args.insert(args.end(), {"--filter", o.filter});
      if (o.testTimeout > 0) args.insert(args.end(), {"--test-timeout", std::to_string(o.testTimeout)});
      args.insert(args.end(), o.forward.begin(), o.forward.end());
      args.push_back(files[i]);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      posix_spawn_file_actions_t fa;
      posix_spawn_file_actions_init(&fa);
      posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
      posix_spawn_file_actions_addopen(&fa, 1, logOf(i).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      posix_spawn_file_actions_adddup2(&fa, 1, 2);
      pid_t pid = 0;
      int rc = posix_spawn(&pid, self.c_str(), &fa, nullptr, argv.data(), environ);
      posix_spawn_file_actions_destroy(&fa);
      if (rc != 0) {
        results[i].file = files[i];
        results[i].error = Error(codes::kInternal, std::string("cannot start a test process: ") + std::strerror(rc));
        continue;
      }
      running[pid] = Running{i, std::chrono::steady_clock::now()};
    }
    if (running.empty()) continue;
    int status = 0;
    pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;
    }
    auto it = running.find(pid);
    if (it == running.end()) continue;
    size_t i = it->second.index;
    double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - it->second.start).count();
    running.erase(it);
    results[i] = readResult(files[i], reportOf(i), logOf(i), status, took);
  }
  std::error_code ec;
  fs::remove_all(tmpDir, ec);

  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (o.format == "tap") printTap(results);
  else if (o.format == "junit") printJunit(results, seconds);
  else printPretty(results, seconds);
  std::fflush(stdout);
  for (const auto& f : results)
    if (f.error || f.failed) return 1;
  return 0;
}

}  // namespace llmspell::cli

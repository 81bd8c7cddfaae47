// The TypeScript declarations `llmspell docs --format dts` writes, checked with the real compiler
// (`typescript` from npm, installed into third_party_data/ by scripts/setup.sh): every JavaScript
// spell in the repository type-checks against them (tests/dts/, examples/, the conformance
// cases), the mistakes a person makes are caught, and every name they declare is bound by the
// JS engine. The compiler tests are skipped, with a message, when node or typescript is missing.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/cli.hpp"

namespace fs = std::filesystem;

namespace {

using llmspell::test::runCli;
using llmspell::test::runShell;
using llmspell::test::shellQuote;

const std::string kSource = LLMSPELL_SOURCE_DIR;

std::string tscPath() { return kSource + "/third_party_data/node_modules/typescript/bin/tsc"; }

// Why the compiler cannot run here, or "" when it can.
std::string tscMissing() {
  if (!fs::exists(tscPath()))
    return "typescript is not installed (" + tscPath() + "): run scripts/setup.sh";
  if (runShell("command -v node >/dev/null 2>&1").exit != 0) return "node is not on PATH";
  return "";
}

// A scratch directory of this test (the compiler runs there: no tsconfig or @types around).
std::string scratch() {
  std::string dir = testing::TempDir() + "/llmspell_dts_" + std::to_string(getpid());
  fs::create_directories(dir);
  return dir;
}

// The declarations of this build, written to a file.
std::string writeDeclarations(const std::string& dir) {
  auto r = runCli("docs --format dts");
  EXPECT_EQ(r.exit, 0) << r.err;
  std::string path = dir + "/llmspell.d.ts";
  std::ofstream(path) << r.out;
  return path;
}

// Runs tsc over `files` with JavaScript checking as a spell is run: ES modules (a spell may use
// top-level await without importing anything), ES2022, no DOM.
llmspell::test::CliResult tsc(const std::string& dir, const std::vector<std::string>& files,
                              const std::string& options = "") {
  std::string cmd = "cd " + shellQuote(dir) + " && node " + shellQuote(tscPath()) +
                    " --noEmit --pretty false --target es2022 --module es2022 --lib es2022 " + options;
  for (const auto& f : files) cmd += " " + shellQuote(f);
  return runShell(cmd + " 2>&1");
}

const char* const kCheckJs = "--checkJs --allowJs --moduleDetection force";

// Every .js file under the source tree's `dirs`, sorted.
std::vector<std::string> spells(const std::vector<std::string>& dirs) {
  std::vector<std::string> out;
  for (const auto& d : dirs) {
    fs::path root = kSource + "/" + d;
    if (!fs::exists(root)) continue;
    for (const auto& e : fs::recursive_directory_iterator(root))
      if (e.is_regular_file() && e.path().extension() == ".js") out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(Dts, EveryJavaScriptSpellTypeChecks) {
  if (auto why = tscMissing(); !why.empty()) GTEST_SKIP() << why;
  std::string dir = scratch();
  std::vector<std::string> files{writeDeclarations(dir)};
  auto js = spells({"tests/dts", "examples", "tests/conformance/cases"});
  ASSERT_GE(js.size(), 5u) << "tests/dts/*.js went missing";
  files.insert(files.end(), js.begin(), js.end());
  auto r = tsc(dir, files, kCheckJs);
  std::string list;
  for (const auto& f : js) list += "  " + fs::relative(f, kSource).string() + "\n";
  EXPECT_EQ(r.exit, 0) << "tsc found errors in these JavaScript spells against `llmspell docs "
                          "--format dts`:\n"
                       << r.out << "\nfiles checked:\n" << list;
}

TEST(Dts, DeclarationsCompileUnderStrict) {
  if (auto why = tscMissing(); !why.empty()) GTEST_SKIP() << why;
  std::string dir = scratch();
  auto r = tsc(dir, {writeDeclarations(dir)}, "--strict");
  EXPECT_EQ(r.exit, 0) << r.out;
}

// Without the declarations' types every spell would type-check: wrong names, argument types,
// result fields and method names must each be an error.
TEST(Dts, MistakesAreErrors) {
  if (auto why = tscMissing(); !why.empty()) GTEST_SKIP() << why;
  std::string dir = scratch();
  std::string bad = dir + "/mistakes.js";
  std::ofstream(bad) << R"(const r = await llm.chat('x');
print(r.finishReason);
await llm.chta('x');
text.slugify(42);
await sleep('1');
agent.create({}).add_tool('calculator');
workflow.sequential({}).runn();
const n = new LlmspellError('m', 'timeout').code * 2;
state.delete();
)";
  auto r = tsc(dir, {writeDeclarations(dir), bad}, kCheckJs);
  EXPECT_NE(r.exit, 0) << r.out;
  for (const char* want : {
           "mistakes.js(2,", "Did you mean 'finish_reason'?",
           "mistakes.js(3,", "Property 'chta' does not exist",
           "mistakes.js(4,", "mistakes.js(5,", "'string' is not assignable to parameter of type 'number'",
           "mistakes.js(6,", "Did you mean 'addTool'?",
           "mistakes.js(7,", "Did you mean 'run'?",
           "mistakes.js(8,", "mistakes.js(9,"}) {
    EXPECT_NE(r.out.find(want), std::string::npos) << want << " not in:\n" << r.out;
  }
}

// The names the file declares, read back from it: namespace members, globals, and the methods
// of each host type. They must all exist in a running JavaScript spell.
struct Declared {
  std::map<std::string, std::vector<std::string>> namespaces, types;
  std::vector<std::string> globals;
};

Declared declared(const std::string& dts) {
  Declared d;
  static const std::regex nsOpen(R"RE(^declare (?:namespace|const) ([A-Za-z_$][\w$]*)(?::)? \{$)RE");

  static const std::regex typeOpen(R"RE(^  interface (\w+) \{$)RE");

  static const std::regex global(R"RE(^declare (?:function|const) ([A-Za-z_$][\w$]*)[(:])RE");

  static const std::regex member(R"RE(^ +(?:function |const |readonly )?"?([A-Za-z_$][\w$]*)"?[(:])RE");

  std::vector<std::string>* into = nullptr;
  std::stringstream lines(dts);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_match(line, m, nsOpen) && m[1] != "console") {
      into = &d.namespaces[m[1]];
    } else if (std::regex_match(line, m, typeOpen)) {
      into = &d.types[m[1]];
    } else if (line == "}" || line == "};" || line == "  }") {
      into = nullptr;
    } else if (into && std::regex_search(line, m, member) && line.find(" * ") == std::string::npos &&
               line.find("/**") == std::string::npos) {
      into->push_back(m[1]);
    } else if (!into && std::regex_search(line, m, global) && m[1] != "console") {
      d.globals.push_back(m[1]);
    }
  }
  return d;
}

std::string jsArray(const std::vector<std::string>& names) {
  std::string s = "[";
  for (const auto& n : names) s += (s.size() > 1 ? ", '" : "'") + n + "'";
  return s + "]";
}

TEST(Dts, EveryDeclaredNameIsBound) {
  auto r = runCli("docs --format dts");
  ASSERT_EQ(r.exit, 0) << r.err;
  Declared d = declared(r.out);
  ASSERT_GE(d.namespaces.size(), 15u) << r.out.substr(0, 2000);
  ASSERT_GE(d.namespaces["llm"].size(), 10u);
  ASSERT_GE(d.types["Agent"].size(), 5u);
  ASSERT_GE(d.globals.size(), 4u);
  // One object of each host type, made by the functions that return them.
  std::string spell = R"(const objects = {
  Agent: agent.create({ name: 'probe', model: 'mock/echo' }),
  Session: llm.session({ model: 'mock/echo' }),
  Logger: log.with({}),
  Channel: channel(1),
  Counter: metrics.counter("dts_counter_total"),
  Gauge: metrics.gauge("dts_gauge"),
  Histogram: metrics.histogram("dts_histogram"),
  RateLimiter: guard.rateLimiter("dts", { rate: 1 }),
  StateScope: state.scope('spell'),
  Workflow: workflow.sequential({ name: 'probe', steps: [{ name: 's', run: (x) => x }] }),
  Expectation: test.expect(1),  // the matchers test.expect returns, bound to the value
  // An MCP server in one line of sh: answers initialize, then reads until closed.
  McpClient: await mcp.connect({ command: '/bin/sh', args: ['-c',
    'read l; echo \'{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-06-18","capabilities":{},"serverInfo":{"name":"sh","version":"1"}}}\'; cat >/dev/null'] }),
};
const missing = [];
const check = (where, owner, names) => {
  for (const n of names) if (owner === undefined || owner === null || owner[n] === undefined) missing.push(where + n);
};
)";
  for (const auto& [ns, names] : d.namespaces)
    spell += "check('" + ns + ".', globalThis['" + ns + "'], " + jsArray(names) + ");\n";
  for (const auto& [type, names] : d.types)
    spell += "if (!objects['" + type + "']) missing.push('an object of type " + type +
             " (add one to objects in tests/cli/dts_test.cpp)');\nelse check('" + type + ".', objects['" +
             type + "'], " + jsArray(names) + ");\n";
  spell += "check('', globalThis, " + jsArray(d.globals) + ");\n";
  spell += "check('', globalThis, ['print', 'console', 'LlmspellError']);\n";
  spell += "print(missing.length === 0 ? 'all bound' : 'not bound: ' + missing.join(', '));\n";
  std::string dir = scratch();
  std::ofstream(dir + "/bound.js") << spell;
  auto run = runCli("run --allow-run --model mock/echo " + shellQuote(dir + "/bound.js"));
  EXPECT_EQ(run.exit, 0) << run.err;
  EXPECT_EQ(run.out, "all bound\n") << run.err << "\n" << spell;
}

}  // namespace

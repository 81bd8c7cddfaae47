// `llmspell check` as a linter, through the real binary: each diagnostic in each engine, the
// did-you-mean text, the JSON format, the exit codes, and the spells that ship (examples/ and
// the valid spells under tests/) linting without errors.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/cli.hpp"

namespace {

namespace fs = std::filesystem;
using llmspell::test::CliResult;
using llmspell::test::runCli;
using llmspell::test::shellQuote;

const std::string kSource = LLMSPELL_SOURCE_DIR;

class CheckLint : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(testing::TempDir()) / ("check_lint_" + std::to_string(getpid()) + "_" +
                                           testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path write(const std::string& name, const std::string& text) {
    fs::path p = dir_ / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p;
  }
  // `llmspell check ARGS PATH`, stdout and stderr merged.
  CliResult check(const fs::path& p, const std::string& args = "") {
    return runCli("check " + args + " " + shellQuote(p.string()), "", true);
  }
  CliResult checkEnv(const std::string& env, const fs::path& p, const std::string& args = "") {
    return llmspell::test::runShell(env + " " + llmspell::test::cliPath() + " check " + args + " " +
                                    shellQuote(p.string()) + " 2>&1");
  }
  nlohmann::json json(const fs::path& p, int* exit = nullptr) {
    auto r = runCli("check --format json " + shellQuote(p.string()));
    if (exit) *exit = r.exit;
    return nlohmann::json::parse(r.out);
  }
  static bool has(const std::string& s, const std::string& sub) { return s.find(sub) != std::string::npos; }

  fs::path dir_;
};

// ---- unknown functions and methods ----

TEST_F(CheckLint, UnknownFunctionWithDidYouMeanInEachEngine) {
  auto lua = check(write("a.lua", "local r = llm.chta('hi')\nreturn r\n"));
  EXPECT_EQ(lua.exit, 1) << lua.out;
  EXPECT_TRUE(has(lua.out, "a.lua:1:15: error[unknown_function]: llm.chta does not exist; did you mean llm.chat?"))
      << lua.out;

  // JavaScript names are camelCase: the suggestion is too.
  auto js = check(write("a.js", "const n = await llm.count_tokens('hi');\nprint(n);\n"));
  EXPECT_EQ(js.exit, 1) << js.out;
  EXPECT_TRUE(has(js.out, "a.js:1:21: error[unknown_function]: llm.count_tokens does not exist; did you mean "
                          "llm.countTokens?"))
      << js.out;

  // Tengo: the module as imported, under its alias.
  auto tengo = check(write("a.tengo", "L := import(\"llm\")\nfs := import(\"fs\")\nr := L.chta(\"hi\")\nfs.raed(\"x\")\n"));
  EXPECT_EQ(tengo.exit, 1) << tengo.out;
  EXPECT_TRUE(has(tengo.out, "a.tengo:3:8: error[unknown_function]: L.chta does not exist; did you mean L.chat?"))
      << tengo.out;
  EXPECT_TRUE(has(tengo.out, "did you mean fs.read?")) << tengo.out;
}

TEST_F(CheckLint, UnknownMethodOfAHostObject) {
  auto lua = check(write("m.lua",
                         "local a = agent.create{name = 'a', model = 'mock/echo'}\n"
                         "log.info('a', {a = 1})  -- a key, not an assignment to a\n"
                         "local b = a:clone{name = 'b'}\n"
                         "b:rset()\n"
                         "return a:rnu('x')\n"));
  EXPECT_EQ(lua.exit, 1) << lua.out;
  EXPECT_TRUE(has(lua.out, "error[unknown_function]: a:rnu is not a method of agent (a holds one); did you mean a:run?"))
      << lua.out;
  // A method's result is typed too (agent:clone returns an agent).
  EXPECT_TRUE(has(lua.out, "m.lua:4:3: error[unknown_function]: b:rset is not a method of agent (b holds one); did you "
                           "mean b:reset"))
      << lua.out;
  auto js = check(write("m.js",
                        "const s = llm.session({model: 'mock/echo'});\n"
                        "await s.sendd('hi');\n"));
  EXPECT_TRUE(has(js.out, "s.sendd is not a method of session (s holds one); did you mean s.send?")) << js.out;
  auto tengo = check(write("m.tengo",
                           "workflow := import(\"workflow\")\n"
                           "w := workflow.sequential({steps: []})\n"
                           "w.runn()\n"));
  EXPECT_TRUE(has(tengo.out, "w.runn is not a method of workflow (w holds one); did you mean w.run?")) << tengo.out;
  // A name the spell binds itself is its own, whatever it is called.
  auto own = check(write("own.lua", "local llm = {chta = function() return 1 end}\nreturn llm.chta()\n"));
  EXPECT_EQ(own.exit, 0) << own.out;
}

// ---- unknown options ----

TEST_F(CheckLint, UnknownOptionFieldsInLiteralTables) {
  auto lua = check(write("o.lua",
                         "llm.chat('hi', {model = 'mock/echo', tempreature = 0.5})\n"
                         "agent.create{name = 'a', modle = 'mock/echo'}\n"
                         "workflow.sequential{steps = {}, stpes = {}}\n"
                         "fs.read('x', {binaryy = true})\n"));
  EXPECT_EQ(lua.exit, 1) << lua.out;
  EXPECT_TRUE(has(lua.out, "o.lua:1:38: error[unknown_option]: llm.chat: unknown option 'tempreature' in opts; did you "
                           "mean temperature?"))
      << lua.out;
  EXPECT_TRUE(has(lua.out, "agent.create: unknown option 'modle' in config; did you mean model?")) << lua.out;
  EXPECT_TRUE(has(lua.out, "workflow.sequential: unknown option 'stpes' in config; did you mean steps?")) << lua.out;
  EXPECT_TRUE(has(lua.out, "fs.read: unknown option 'binaryy' in opts; did you mean binary?")) << lua.out;

  // No close match: the options it takes.
  auto far = check(write("far.lua", "llm.chat('hi', {zzzzzz = 1})\n"));
  EXPECT_TRUE(has(far.out, "llm.chat: unknown option 'zzzzzz' in opts (known: model, system, temperature,")) << far.out;

  auto js = check(write("o.js",
                        "const model = 'mock/echo';\n"
                        "await llm.chat('hi', {model, max_token: 5});\n"
                        "agent.create({name: 'a', \"sytem\": 'x'});\n"));
  EXPECT_TRUE(has(js.out, "llm.chat: unknown option 'max_token' in opts; did you mean max_tokens?")) << js.out;
  EXPECT_TRUE(has(js.out, "agent.create: unknown option 'sytem' in config; did you mean system?")) << js.out;

  auto tengo = check(write("o.tengo",
                           "llm := import(\"llm\")\n"
                           "llm.chat(\"hi\", {model: \"mock/echo\", sedd: 1})\n"));
  EXPECT_TRUE(has(tengo.out, "llm.chat: unknown option 'sedd' in opts; did you mean seed?")) << tengo.out;
}

// ---- argument counts ----

TEST_F(CheckLint, ArgumentCountsAgainstTheRegistry) {
  auto lua = check(write("c.lua", "json.encode()\njson.decode('1', 2)\nlocal t = {1, 2}\njson.encode(table.unpack(t))\n"));
  EXPECT_EQ(lua.exit, 1) << lua.out;
  EXPECT_TRUE(has(lua.out, "c.lua:1:6: error[arg_count]: json.encode needs at least 1 argument, got 0 "
                           "(json.encode(value, opts?); value is required)"))
      << lua.out;
  EXPECT_TRUE(has(lua.out, "c.lua:2:6: error[arg_count]: json.decode takes at most 1 argument, got 2 (json.decode(text))"))
      << lua.out;
  EXPECT_FALSE(has(lua.out, "c.lua:4:")) << "a call last may expand to any number of arguments: " << lua.out;

  auto js = check(write("c.js", "await sleep();\nprint(json.decode('1', 2, 3));\n"));
  EXPECT_TRUE(has(js.out, "sleep needs 1 argument, got 0")) << js.out;
  EXPECT_TRUE(has(js.out, "json.decode takes at most 1 argument, got 3")) << js.out;
  auto tengo = check(write("c.tengo", "json := import(\"json\")\nx := json.decode(\"1\", 2)\n"));
  EXPECT_TRUE(has(tengo.out, "json.decode takes at most 1 argument, got 2")) << tengo.out;
}

// ---- grants ----

TEST_F(CheckLint, GrantsTheManifestDoesNotGive) {
  write("spell/spell.yaml", "name: g\npermissions:\n  env: [OTHER]\n");
  write("spell/main.lua",
        "local t = fs.read('data.txt')\n"
        "local r = http.get('https://example.com')\n"
        "local h = env.get('HOME')\n"
        "local o = env.get('OTHER')\n"
        "tools.call('shell', {command = 'ls'})\n");
  auto r = check(dir_ / "spell");
  EXPECT_EQ(r.exit, 1) << r.out;
  EXPECT_TRUE(has(r.out, "main.lua:1:14: error[missing_grant]: fs.read needs a read grant that")) << r.out;
  EXPECT_TRUE(has(r.out, "add `read: [...]` under permissions: (or run with --allow-read)")) << r.out;
  EXPECT_TRUE(has(r.out, "http.get needs a net grant")) << r.out;
  EXPECT_TRUE(has(r.out, "env.get(\"HOME\") needs a env grant")) << r.out;
  EXPECT_FALSE(has(r.out, "env.get(\"OTHER\")")) << r.out;
  EXPECT_TRUE(has(r.out, "tools.call of the built-in tool shell needs the run grant")) << r.out;

  // A function passed on to be called needs its grant as much; so do the built-in tools an
  // agent is given.
  write("ref/spell.yaml", "name: r\n");
  write("ref/main.lua",
        "local ok, err = pcall(fs.read, 'x')\n"
        "local a = agent.create{name = 'a', model = 'mock/echo', tools = {'web_fetch', 'calculator'}}\n"
        "return ok, err, a\n");
  auto ref = check(dir_ / "ref");
  EXPECT_TRUE(has(ref.out, "main.lua:1:26: error[missing_grant]: fs.read needs a read grant")) << ref.out;
  EXPECT_TRUE(has(ref.out, "agent.create of the built-in tool web_fetch needs a net grant")) << ref.out;
  EXPECT_FALSE(has(ref.out, "calculator")) << ref.out;

  // Granted, the same spell is clean; a write grant lets it read back too.
  write("spell/spell.yaml", "name: g\npermissions:\n  env: [OTHER, HOME]\n  net: [example.com]\n  write: [./out]\n  run: true\n");
  auto ok = check(dir_ / "spell");
  EXPECT_EQ(ok.exit, 0) << ok.out;
  EXPECT_FALSE(has(ok.out, "missing_grant")) << ok.out;

  // JavaScript and Tengo alike; a file with no manifest gets a warning naming the flag.
  write("js/spell.yaml", "name: j\n");
  write("js/main.js", "print(await fs.read('x'));\n");
  EXPECT_TRUE(has(check(dir_ / "js").out, "fs.read needs a read grant")) << check(dir_ / "js").out;
  auto bare = check(write("bare.tengo", "fs := import(\"fs\")\nx := fs.write(\"o.txt\", \"hi\")\n"));
  EXPECT_EQ(bare.exit, 0) << bare.out;
  EXPECT_TRUE(has(bare.out, "bare.tengo:2:9: warning[missing_grant]: fs.write needs --allow-write when the spell runs"))
      << bare.out;
}

// ---- params ----

TEST_F(CheckLint, UnusedParams) {
  write("p/spell.yaml",
        "name: p\nparams:\n  who: {type: string, default: x}\n  loud: {type: boolean, default: false}\n"
        "  times: {type: integer, default: 1}\n");
  write("p/main.lua", "local p = spell.params\nprint(spell.params.who, p.times)\n");
  auto r = check(dir_ / "p");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_TRUE(has(r.out, "spell.yaml:4:0: warning[unused_param]: param 'loud' is declared but the spell never reads it"))
      << r.out;
  EXPECT_FALSE(has(r.out, "'who'")) << r.out;
  EXPECT_FALSE(has(r.out, "'times'")) << r.out;
  EXPECT_TRUE(has(r.out, "ok: ")) << r.out;
  EXPECT_EQ(check(dir_ / "p", "--strict").exit, 1);

  // Read in another file of the spell, it is used; that file is linted as part of the spell.
  write("p/lib.lua", "local x = spell.params.loud\nreturn json.decod(x)\n");
  auto lib = check(dir_ / "p");
  EXPECT_FALSE(has(lib.out, "unused_param")) << lib.out;
  EXPECT_TRUE(has(lib.out, "lib.lua:2:13: error[unknown_function]: json.decod does not exist; did you mean json.decode?"))
      << lib.out;
  EXPECT_EQ(lib.exit, 1) << lib.out;

  // JavaScript and Tengo read params the same way.
  const char* yaml = "name: q\nparams:\n  who: {type: string, default: x}\n  loud: {type: boolean, default: false}\n";
  write("js/spell.yaml", yaml);
  write("js/main.js", "print(spell.params.who);\n");
  auto js = check(dir_ / "js");
  EXPECT_TRUE(has(js.out, "spell.yaml:4:0: warning[unused_param]: param 'loud'")) << js.out;
  EXPECT_FALSE(has(js.out, "'who'")) << js.out;
  write("tg/spell.yaml", yaml);
  write("tg/main.tengo", "spell := import(\"spell\")\nfmt := import(\"fmt\")\nfmt.println(spell.params.loud)\n");
  auto tg = check(dir_ / "tg");
  EXPECT_TRUE(has(tg.out, "spell.yaml:3:0: warning[unused_param]: param 'who'")) << tg.out;
  EXPECT_FALSE(has(tg.out, "'loud'")) << tg.out;
}

// ---- globals ----

TEST_F(CheckLint, GlobalsAssignedByMistake) {
  auto lua = check(write("g.lua", "total = 0\nlocal function add(n)\n  count = n\n  total = total + n\nend\nadd(1)\n"));
  if (has(lua.out, "note[skipped]")) GTEST_SKIP() << "luacheck is not installed: " << lua.out;
  EXPECT_EQ(lua.exit, 0) << lua.out;
  EXPECT_TRUE(has(lua.out, "g.lua:3:3: warning[global_assign]: setting non-standard global variable 'count' inside a function"))
      << lua.out;
  EXPECT_FALSE(has(lua.out, "variable 'total'")) << "set at the top level on purpose: " << lua.out;
  auto undef = check(write("u.lua", "prnt('x')\nlocal unused = 1\n"));
  EXPECT_TRUE(has(undef.out, "u.lua:1:1: warning[undefined_global]: accessing undefined variable 'prnt'")) << undef.out;
  EXPECT_TRUE(has(undef.out, "u.lua:2:7: warning[unused_variable]: unused variable 'unused'")) << undef.out;
  EXPECT_FALSE(has(undef.out, "llm")) << undef.out;

  auto js = check(write("g.js", "let total = 0;\nfunction add(n) {\n  count = n;\n  total += n;\n}\nadd(1);\n"));
  EXPECT_EQ(js.exit, 1) << js.out;
  EXPECT_TRUE(has(js.out, "g.js:3:3: error[global_assign]: assignment to 'count', which is declared nowhere")) << js.out;
  EXPECT_FALSE(has(js.out, "'total'")) << js.out;
  // Declared in every way JavaScript declares: none of these is a global.
  auto decl = check(write("d.js",
                          "let a = 1, b = 2;\n"
                          "const {c, d: [e]} = {c: 1, d: [2]};\n"
                          "for (let i = 0; i < 2; i++) { a = i; }\n"
                          "const f = (g, h = 1) => { g = h; return g; };\n"
                          "class K { count = 0; bump(n) { n = n + 1; this.count = n; } }\n"
                          "function k(x) { x = 2; return x; }\n"
                          "try { b = 3; } catch (err) { err = null; }\n"
                          "print(a, b, c, e, f(1), new K().bump(1), k(1));\n"));
  EXPECT_EQ(decl.exit, 0) << decl.out;
  EXPECT_FALSE(has(decl.out, "global_assign")) << decl.out;
}

TEST_F(CheckLint, WithoutLuacheckTheScopeChecksAreSkippedWithANote) {
  auto r = checkEnv("LLMSPELL_LUACHECK=off", write("g.lua", "local function f() count = 1 end\nf()\n"));
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_TRUE(has(r.out, "g.lua:0:0: note[skipped]: luacheck is not installed: Lua's scope checks")) << r.out;
  EXPECT_FALSE(has(r.out, "warning[global_assign]")) << r.out;
  EXPECT_EQ(checkEnv("LLMSPELL_LUACHECK=off", dir_ / "g.lua", "--strict").exit, 0) << "a note is not a warning";
}

// ---- output and exit codes ----

TEST_F(CheckLint, JsonFormatAndExitCodes) {
  int exit = -1;
  auto j = json(write("e.lua", "llm.chta('x')\n"), &exit);
  EXPECT_EQ(exit, 1);
  ASSERT_TRUE(j.is_array()) << j.dump();
  bool found = false;
  for (const auto& d : j) {
    for (const char* k : {"file", "line", "column", "severity", "code", "message"}) EXPECT_TRUE(d.contains(k)) << d.dump();
    if (d["code"] == "unknown_function") {
      found = true;
      EXPECT_EQ(d["line"], 1);
      EXPECT_EQ(d["column"], 5);
      EXPECT_EQ(d["severity"], "error");
      EXPECT_TRUE(has(d["file"].get<std::string>(), "e.lua"));
      EXPECT_EQ(d["message"], "llm.chta does not exist; did you mean llm.chat?");
    }
  }
  EXPECT_TRUE(found) << j.dump();

  auto clean = json(write("ok.lua", "return json.encode({a = 1})\n"), &exit);
  EXPECT_EQ(exit, 0);
  for (const auto& d : clean) EXPECT_NE(d["severity"], "error") << d.dump();

  // A syntax error is a diagnostic too, with its code.
  auto syn = json(write("s.lua", "local x = \n"), &exit);
  EXPECT_EQ(exit, 1);
  ASSERT_FALSE(syn.empty());
  EXPECT_EQ(syn[0]["code"], "syntax");

  // Warnings alone: 0, or 1 with --strict; usage errors: 2.
  auto warn = write("w.tengo", "fs := import(\"fs\")\nx := fs.read(\"a\")\n");
  EXPECT_EQ(check(warn).exit, 0);
  EXPECT_EQ(check(warn, "--strict").exit, 1);
  EXPECT_EQ(runCli("check --strict " + shellQuote(warn.string())).exit, 1);
  EXPECT_EQ(runCli("check --format yaml " + shellQuote(warn.string())).exit, 2);
  EXPECT_EQ(runCli("check " + shellQuote((dir_ / "missing.lua").string())).exit, 2);
}

// ---- the spells that ship lint clean ----

std::vector<fs::path> spellFiles(const fs::path& root) {
  std::vector<fs::path> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    auto ext = e.path().extension();
    if (e.is_regular_file() && (ext == ".lua" || ext == ".js" || ext == ".tengo")) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

void expectNoErrors(const std::vector<fs::path>& files, const std::set<std::string>& exempt = {}) {
  for (const auto& f : files) {
    if (exempt.count(f.filename().string())) continue;
    auto r = runCli("check --format json " + shellQuote(f.string()));
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << f << ": " << r.out;
    std::string errors;
    for (const auto& d : j)
      if (d["severity"] == "error") errors += d.dump() + "\n";
    EXPECT_EQ(r.exit, 0) << f << "\n" << errors;
    EXPECT_TRUE(errors.empty()) << f << "\n" << errors;
  }
}

TEST(CheckLintShipped, ExamplesLintWithoutErrors) {
  expectNoErrors(spellFiles(kSource + "/examples"));
  // The spells with a manifest, checked whole as `llmspell check DIR` does.
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(kSource + "/examples"))
    if (fs::exists(e.path() / "spell.yaml")) dirs.push_back(e.path());
  EXPECT_GE(dirs.size(), 3u);
  expectNoErrors(dirs);
}

TEST(CheckLintShipped, ValidTestSpellsLintWithoutErrors) {
  expectNoErrors(spellFiles(kSource + "/tests/llm/spells"));
  expectNoErrors(spellFiles(kSource + "/tests/agent/spells"));
  expectNoErrors(spellFiles(kSource + "/tests/dts"));
  // The conformance cases, but for the two whose mistakes are what they test.
  expectNoErrors(spellFiles(kSource + "/tests/conformance/cases"),
                 {"llm_offline.tengo",              // models.find{provder = ...} is refused
                  "sandbox_globals_isolated.js"});  // assigning an undeclared name throws
}

}  // namespace

// Loading a spell through the real binary: what spell.include and require may read without a
// grant, the caps on manifests and source files (all applied before the spell's own limits
// exist), the checks of the limit flags, and memory exhausted while compiling.
//
// Every command that once hung (a FIFO, an alias bomb) runs under `timeout`, so a regression
// fails instead of stalling CTest.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "support/cli.hpp"

namespace {

namespace fs = std::filesystem;
using llmspell::test::CliResult;
using llmspell::test::cliPath;
using llmspell::test::runShell;
using llmspell::test::shellQuote;

class Loading : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(testing::TempDir()) /
           ("llmspell_loading_" + std::to_string(getpid()) + "_" +
            testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "spell");
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path spell() const { return dir_ / "spell"; }
  void write(const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
  }
  // `llmspell ARGS` run from `cwd`, stdout and stderr merged, stopped after 60 s if it hangs.
  CliResult cli(const std::string& args, const fs::path& cwd = {}) {
    return runShell("cd " + shellQuote((cwd.empty() ? dir_ : cwd).string()) + " && timeout 60 " + cliPath() +
                    " " + args + " 2>&1 </dev/null");
  }
  // Runs the spell directory when it has a manifest, else its main.lua.
  CliResult runSpell(const std::string& extra = "") {
    fs::path target = fs::exists(spell() / "spell.yaml") ? spell() : spell() / "main.lua";
    return cli("run " + shellQuote(target.string()) + " " + extra);
  }

  fs::path dir_;
};

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// ---- spell.include and require (#10 item 6) ----

TEST_F(Loading, IncludeRunsOnlySourceFilesOfTheSpellWithoutAGrant) {
  write(spell() / ".env", "SECRET_TOKEN = 'sk-leak-1234'\n");
  write(spell() / "notes.txt", "this is TOPSECRET text\n");
  write(spell() / "lib" / "util.lua", "return 40 + 2\n");
  write(spell() / "main.lua", R"(
local ok, e = pcall(spell.include, ".env")
print("env", ok, e.code, rawget(_G, "SECRET_TOKEN"))
print(e.message)
local ok2, e2 = pcall(spell.include, "notes.txt")
print("notes", ok2, e2.code)
print(e2.message)
print("lib", spell.include("lib/util.lua"), spell.include("./lib/../lib/util.lua"))
)");
  auto r = runSpell();
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_TRUE(has(r.out, "env\tfalse\tpermission_denied\tnil\n")) << r.out;
  EXPECT_TRUE(has(r.out, "notes\tfalse\tpermission_denied\n")) << r.out;
  EXPECT_TRUE(has(r.out, "lib\t42\t42\n")) << r.out;
  EXPECT_FALSE(has(r.out, "sk-leak")) << r.out;
  EXPECT_FALSE(has(r.out, "TOPSECRET")) << r.out;
  // The denial names the path as written beside the spell and the flag that grants it.
  EXPECT_TRUE(has(r.out, "spell.include('.env'): without a read grant only .lua files inside the spell's "
                         "directory can be run; run with --allow-read=" + (spell() / ".env").string()))
      << r.out;

  // With the grant the file is the spell's to read, and so to include: its syntax error is shown.
  auto granted = runSpell("--allow-read=" + shellQuote((spell() / "notes.txt").string()));
  EXPECT_EQ(granted.exit, 0) << granted.out;
  EXPECT_TRUE(has(granted.out, "notes\tfalse\tinvalid_argument\n")) << granted.out;
  EXPECT_TRUE(has(granted.out, "syntax error")) << granted.out;
}

TEST_F(Loading, IncludeAndRequireStayInTheSpellsDirectoryTree) {
  write(dir_ / "outside.lua", "return 'OUTSIDE'\n");
  fs::create_symlink("../outside.lua", spell() / "link.lua");
  fs::create_symlink("../missing.lua", spell() / "dangling.lua");
  fs::create_symlink(dir_, spell() / "up");
  write(spell() / "main.lua", R"(
for _, p in ipairs{"../outside.lua", "link.lua", "dangling.lua", "up/outside.lua", "up/spell/../outside.lua"} do
  local ok, e = pcall(spell.include, p)
  if ok then print(p, ok, e)
  else print(p, ok, e.code, (e.message:gsub("'[^']*'", "P"):gsub("allow%-read=%S+", "allow-read=X"))) end
end
for _, m in ipairs{"link", "dangling", "up.outside"} do
  local ok, e = pcall(require, m)
  print(m, ok, e.code)
end
local ok, e = pcall(spell.include, "nope.lua")
print("nope", ok, e.code)
)");
  auto r = runSpell();
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_FALSE(has(r.out, "OUTSIDE")) << r.out;
  // A live link out of the tree and a dangling one answer alike: existence outside is not told.
  std::string denied = "\tfalse\tpermission_denied\tspell.include(P): without a read grant only .lua files "
                       "inside the spell's directory can be run; run with --allow-read=X to allow this one\n";
  for (const char* p : {"../outside.lua", "link.lua", "dangling.lua", "up/outside.lua", "up/spell/../outside.lua"})
    EXPECT_TRUE(has(r.out, p + denied)) << p << "\n" << r.out;
  for (const char* m : {"link", "dangling", "up.outside"})
    EXPECT_TRUE(has(r.out, std::string(m) + "\tfalse\tpermission_denied\n")) << m << "\n" << r.out;
  EXPECT_TRUE(has(r.out, "nope\tfalse\tnot_found\n")) << r.out;

  // A read grant covers what lies outside.
  auto granted = runSpell("--allow-read=" + shellQuote(dir_.string()));
  EXPECT_TRUE(has(granted.out, "link.lua\ttrue\tOUTSIDE")) << granted.out;
}

// The compiler quotes the text near a syntax error; for a file the spell may run but not read,
// only the position is told, for spell.include and require alike.
TEST_F(Loading, SyntaxErrorsOfUngrantedFilesDoNotQuoteThem) {
  write(spell() / "bad.lua", "local ok = 1\nlocal k = 'SECRETWORD\n");
  write(spell() / "main.lua", R"(
local ok, e = pcall(spell.include, "bad.lua")
print("include", ok, e.code, e.line)
print(e.message)
local ok2, e2 = pcall(require, "bad")
print("require", ok2, e2.code, e2.line)
print(e2.message)
)");
  auto r = runSpell();
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_FALSE(has(r.out, "SECRETWORD")) << r.out;
  EXPECT_TRUE(has(r.out, "include\tfalse\tinvalid_argument\t2\n")) << r.out;
  EXPECT_TRUE(has(r.out, "require\tfalse\tinvalid_argument\t2\n")) << r.out;
  EXPECT_TRUE(has(r.out, "spell.include('bad.lua'): syntax error at line 2; the compiler's message is not shown"))
      << r.out;
  EXPECT_TRUE(has(r.out, "--allow-read=" + (spell() / "bad.lua").string() + " to see it")) << r.out;

  auto granted = runSpell("--allow-read=" + shellQuote(spell().string()));
  EXPECT_TRUE(has(granted.out, "SECRETWORD")) << granted.out;
}

TEST_F(Loading, IncludeRefusesAFifo) {
  ASSERT_EQ(mkfifo((spell() / "pipe.lua").c_str(), 0600), 0);
  write(spell() / "main.lua", "local ok, e = pcall(spell.include, 'pipe.lua') print(ok, e.code)\n");
  auto r = runSpell();
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_TRUE(has(r.out, "false\tinvalid_argument\n")) << r.out;
}

// For exec the spell's directory is the current one.
TEST_F(Loading, ExecIncludesFromTheCurrentDirectoryUnderTheSameRules) {
  write(dir_ / "work" / ".env", "SECRET_TOKEN = 'sk-leak-1234'\n");
  write(dir_ / "work" / "helper.lua", "return 'helped'\n");
  auto r = cli("exec " + shellQuote("local ok, e = pcall(spell.include, '.env') "
                                    "print(ok, e.code, rawget(_G, 'SECRET_TOKEN')) "
                                    "print(spell.include('helper.lua'))"),
               dir_ / "work");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_TRUE(has(r.out, "false\tpermission_denied\tnil\nhelped\n")) << r.out;
  EXPECT_FALSE(has(r.out, "sk-leak")) << r.out;

  // Tengo has no spell.include: the call fails without reading anything.
  auto t = cli("exec --engine tengo " +
                   shellQuote("fmt := import(\"fmt\"); spell := import(\"spell\"); "
                              "x := spell.include(\".env\"); fmt.println(is_error(x)); fmt.println(x)"),
               dir_ / "work");
  EXPECT_EQ(t.exit, 0) << t.out;
  EXPECT_TRUE(has(t.out, "true\n")) << t.out;
  EXPECT_FALSE(has(t.out, "sk-leak")) << t.out;
}

// ---- manifests and entry files (#10 item 11) ----

TEST_F(Loading, ManifestAliasBombIsRefused) {
  std::string yaml = "name: bomb\nconfig:\n  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int i = 1; i < 10; ++i) {
    std::string prev = "*a" + std::to_string(i - 1);
    yaml += "  a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j) yaml += (j ? ", " : "") + prev;
    yaml += "]\n";
  }
  write(spell() / "spell.yaml", yaml);
  write(spell() / "main.lua", "return 1\n");
  auto r = runSpell();
  EXPECT_EQ(r.exit, 2) << r.out;
  EXPECT_TRUE(has(r.out, "error[invalid_argument]: invalid manifest:")) << r.out;
  EXPECT_TRUE(has(r.out, "more than 10000 YAML nodes (aliases counted as the nodes they repeat)")) << r.out;

  auto c = cli("check " + shellQuote(spell().string()));
  EXPECT_EQ(c.exit, 1) << c.out;
  EXPECT_TRUE(has(c.out, "more than 10000 YAML nodes")) << c.out;
}

// 20,000 keys took 23 s to load; the node cap refuses them before any is converted.
TEST_F(Loading, ManifestWithTooManyKeysIsRefused) {
  std::string yaml = "name: wide\n";
  for (int i = 0; i < 20000; ++i) yaml += "k" + std::to_string(i) + ": 1\n";
  write(spell() / "spell.yaml", yaml);
  write(spell() / "main.lua", "return 1\n");
  auto r = runSpell();
  EXPECT_EQ(r.exit, 2) << r.out;
  EXPECT_TRUE(has(r.out, "more than 10000 YAML nodes")) << r.out;

  // A flat list of 400,000 items in under 1 MiB: the count stops the parse itself early.
  std::string list = "name: long\nconfig: [";
  for (int i = 0; i < 400000; ++i) list += "1,";
  write(spell() / "spell.yaml", list + "1]\n");
  auto l = runSpell();
  EXPECT_EQ(l.exit, 2) << l.out;
  EXPECT_TRUE(has(l.out, "more than 10000 YAML nodes")) << l.out;

  // Nesting is bounded as well.
  write(spell() / "spell.yaml", "name: deep\nconfig: " + std::string(300, '[') + std::string(300, ']') + "\n");
  auto d = runSpell();
  EXPECT_EQ(d.exit, 2) << d.out;
  EXPECT_TRUE(has(d.out, "nested more than 256 deep")) << d.out;
}

TEST_F(Loading, ManifestLargerThanTheCapIsRefused) {
  write(spell() / "spell.yaml", "name: big\n" + std::string(1 << 20, '#') + "\n");
  write(spell() / "main.lua", "return 1\n");
  auto r = runSpell();
  EXPECT_EQ(r.exit, 2) << r.out;
  EXPECT_TRUE(has(r.out, "the manifest is larger than the 1 MiB a manifest may be")) << r.out;
  auto c = cli("check " + shellQuote(spell().string()));
  EXPECT_EQ(c.exit, 1) << c.out;
  EXPECT_TRUE(has(c.out, "larger than the 1 MiB")) << c.out;
}

TEST_F(Loading, ManifestEntryMustBeARegularFileInsideTheSpell) {
  auto entry = [&](const std::string& e) {
    write(spell() / "spell.yaml", "name: e\nentry: " + e + "\n");
    return runSpell();
  };
  auto up = entry("../../../../../../../../../../dev/zero");
  EXPECT_EQ(up.exit, 2) << up.out;
  EXPECT_TRUE(has(up.out, "entry '../../../../../../../../../../dev/zero' must name a file inside the spell's directory"))
      << up.out;
  EXPECT_EQ(entry("/dev/zero").exit, 2);

  fs::create_symlink("/dev/zero", spell() / "zero.lua");
  auto link = entry("zero.lua");
  EXPECT_EQ(link.exit, 2) << link.out;
  EXPECT_TRUE(has(link.out, "must name a file inside the spell's directory")) << link.out;

  ASSERT_EQ(mkfifo((spell() / "pipe.lua").c_str(), 0600), 0);
  auto fifo = entry("pipe.lua");
  EXPECT_EQ(fifo.exit, 2) << fifo.out;
  EXPECT_TRUE(has(fifo.out, "is not a regular file (a FIFO, device or socket)")) << fifo.out;
  auto check = cli("check " + shellQuote(spell().string()));
  EXPECT_EQ(check.exit, 1) << check.out;
  EXPECT_TRUE(has(check.out, "is not a regular file")) << check.out;

  fs::create_directories(spell() / "sub");
  auto isDir = entry("sub");
  EXPECT_EQ(isDir.exit, 2) << isDir.out;

  // Named on the command line, a FIFO or device is refused the same way.
  fs::remove(spell() / "spell.yaml");
  auto direct = cli("run " + shellQuote((spell() / "pipe.lua").string()));
  EXPECT_EQ(direct.exit, 2) << direct.out;
  EXPECT_TRUE(has(direct.out, "is not a regular file")) << direct.out;
  EXPECT_EQ(cli("check " + shellQuote((spell() / "pipe.lua").string())).exit, 1);

  // An entry in a subdirectory (or reached through a link inside the tree) is fine.
  write(spell() / "sub" / "main.lua", "return 'ran'\n");
  fs::create_symlink("sub/main.lua", spell() / "alias.lua");
  EXPECT_EQ(entry("sub/main.lua").out, "ran\n");
  EXPECT_EQ(entry("alias.lua").out, "ran\n");
}

TEST_F(Loading, SourceLargerThanTheCapIsRefused) {
  write(spell() / "spell.yaml", "name: big\nentry: main.lua\n");
  {
    std::ofstream f(spell() / "main.lua");
    f << "return 1\n";
  }
  fs::resize_file(spell() / "main.lua", (16u << 20) + 1);
  auto r = runSpell();
  EXPECT_EQ(r.exit, 2) << r.out;
  EXPECT_TRUE(has(r.out, "is larger than the 16 MiB allowed")) << r.out;
}

TEST_F(Loading, ManifestLimitsMustBeFiniteAndBounded) {
  write(spell() / "main.lua", "return 1\n");
  for (const char* limits : {"{timeout_s: .nan}", "{timeout_s: 1e300}", "{memory_mb: .inf}", "{instructions: -1}",
                             "{instructions: 1e300}", "{memory_mb: 0}"}) {
    write(spell() / "spell.yaml", std::string("name: l\nlimits: ") + limits + "\n");
    auto r = runSpell();
    EXPECT_EQ(r.exit, 2) << limits << "\n" << r.out;
    EXPECT_TRUE(has(r.out, "error[invalid_argument]: invalid manifest:")) << r.out;
  }
  write(spell() / "spell.yaml", "name: l\nlimits: {timeout_s: .nan}\n");
  EXPECT_TRUE(has(runSpell().out, "'limits.timeout_s' must be a finite number"));
  write(spell() / "spell.yaml", "name: l\nlimits: {timeout_s: 1e10}\n");
  EXPECT_TRUE(has(runSpell().out, "'limits.timeout_s' must be a number of seconds greater than 0 up to 31536000 (365 days)"));
  write(spell() / "spell.yaml", "name: l\nlimits: {timeout_s: 30, memory_mb: 64, instructions: 1000000}\n");
  EXPECT_EQ(runSpell().exit, 0);
}

// ---- limit flags ("Also") ----

TEST_F(Loading, LimitFlagsAreCheckedAsUsageErrors) {
  struct Case {
    const char* flags;
    const char* says;
  };
  for (const Case& c : {Case{"--timeout nan", "--timeout: must be a finite number"},
                        Case{"--timeout 1e10", "--timeout: must be a number of seconds greater than 0 up to 31536000"},
                        Case{"--timeout 0", "--timeout: must be a number of seconds greater than 0"},
                        Case{"--instruction-limit -1", "--instruction-limit: expects a whole number, got '-1'"},
                        Case{"--instruction-limit 1e300", "--instruction-limit: expects a whole number"},
                        Case{"--memory-limit -1", "--memory-limit: expects a whole number, got '-1'"},
                        Case{"--max-cost nan", "--max-cost"},
                        Case{"--allow-read= --allow-write=/tmp", "--allow-read has an empty value"},
                        Case{"--allow-read ''", "--allow-read: expects a path, got ''"},
                        Case{"--allow-env=", "--allow-env has an empty value"}}) {
    auto r = cli(std::string("exec 'print(\"ran\")' ") + c.flags);
    EXPECT_EQ(r.exit, 2) << c.flags << "\n" << r.out;
    EXPECT_TRUE(has(r.out, c.says)) << c.flags << "\n" << r.out;
    EXPECT_FALSE(has(r.out, "ran")) << c.flags << "\n" << r.out;
  }
  auto ok = cli("exec 'print(\"ran\")' --timeout 2.5 --instruction-limit 100000000 --memory-limit 64");
  EXPECT_EQ(ok.out, "ran\n");
}

// ---- memory exhausted while compiling ("Also") ----

TEST_F(Loading, OutOfMemoryWhileCompilingIsALimitStop) {
  // One 6 MiB string constant: the compiler's buffers and the constant outgrow 4 MiB.
  std::string big(6u << 20, 'a');
  write(spell() / "big.lua", "return '" + big + "'\n");
  auto lua = cli("run " + shellQuote((spell() / "big.lua").string()) + " --memory-limit 4");
  EXPECT_EQ(lua.exit, 3) << lua.out.substr(0, 500);
  EXPECT_TRUE(has(lua.out, "error[limit_exceeded]: memory limit of 4 MiB exceeded")) << lua.out.substr(0, 500);

  write(spell() / "big.tengo", "out := \"" + big + "\"\n");
  auto tengo = cli("run " + shellQuote((spell() / "big.tengo").string()) + " --memory-limit 4");
  EXPECT_EQ(tengo.exit, 3) << tengo.out.substr(0, 500);
  EXPECT_TRUE(has(tengo.out, "error[limit_exceeded]: memory limit of 4 MiB exceeded")) << tengo.out.substr(0, 500);
}

}  // namespace

// Found by the manifest fuzz target: `version: -.INF` made `llmspell check` abort (an exception
// out of parseManifest, where a number's text was written as JSON).
TEST_F(Loading, ANonFiniteNumberWhereTextBelongsIsADiagnostic) {
  write(spell() / "main.lua", "print('ran')\n");
  for (const char* v : {"-.INF", ".inf", ".nan"}) {
    write(spell() / "spell.yaml", std::string("name: x\nversion: ") + v + "\nentry: main.lua\n");
    auto check = cli("check " + shellQuote(spell().string()));
    EXPECT_EQ(check.exit, 1) << v << ": " << check.out;
    EXPECT_TRUE(has(check.out, "'version' must be a string")) << check.out;
    auto run = runSpell();
    EXPECT_EQ(run.exit, 2) << v << ": " << run.out;
    EXPECT_TRUE(has(run.out, "'version' must be a string")) << run.out;
  }
  // A finite number still reads as the version.
  write(spell() / "spell.yaml", "name: x\nversion: 1.5\nentry: main.lua\n");
  EXPECT_EQ(runSpell().out, "ran\n");
}

// A spell named by a relative path, run from its own directory, beside a manifest: the manifest's
// directory is the current one (a relative "spell.yaml" has an empty parent path, which once
// made `check` and `run` abort with a filesystem_error).
TEST_F(Loading, RelativeSpellBesideAManifestInTheCurrentDirectory) {
  write(spell() / "spell.yaml", "name: rel\nversion: 1.0.0\nentry: main.lua\n");
  write(spell() / "main.lua", "print('rel ok')\n");
  write(spell() / "other.lua", "local = \n");
  auto run = cli("run main.lua", spell());
  EXPECT_EQ(run.exit, 0) << run.out;
  EXPECT_TRUE(has(run.out, "rel ok")) << run.out;
  auto check = cli("check other.lua", spell());
  EXPECT_EQ(check.exit, 1) << check.out;
  EXPECT_TRUE(has(check.out, "syntax error")) << check.out;
}

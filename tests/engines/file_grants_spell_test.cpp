// File and environment grants through the real binary, in Lua and Tengo: the escapes found by
// outside testing (issue #10, items 1-3 and 7) stay closed. Tengo's `os` module keeps its own
// working directory and environment; every path goes through the resolve-check-open path of
// core/safe_fs; a denial reads the same whether or not the target exists and prints only the
// path the spell wrote.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "support/cli.hpp"

namespace {

namespace stdfs = std::filesystem;
using llmspell::test::cliPath;
using llmspell::test::CliResult;
using llmspell::test::runShell;
using llmspell::test::shellQuote;

class FileGrants : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/llmspell-grants-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    t_ = stdfs::canonical(tmpl);
    stdfs::create_directories(t_ / "home" / "proj");
    stdfs::create_directories(t_ / "out");
    stdfs::create_directories(t_ / "proj");
    std::ofstream(t_ / "proj" / "secret.txt") << "OUTSIDE";
  }
  void TearDown() override { stdfs::remove_all(t_); }

  // `llmspell exec [--engine tengo] FLAGS CODE` run from `cwd` (default T/home/proj), with
  // `env` (NAME=value words) added to its environment. stdout and stderr merged.
  CliResult exec(const std::string& engine, const std::string& code, const std::string& flags,
                 const stdfs::path& cwd = {}, const std::string& env = "") {
    std::string dir = (cwd.empty() ? t_ / "home" / "proj" : cwd).string();
    return runShell("cd " + shellQuote(dir) + " && env " + env + " " + cliPath() + " exec" +
                    (engine == "tengo" ? " --engine tengo " : " ") + flags + " " +
                    shellQuote(code) + " 2>&1");
  }
  CliResult tengo(const std::string& code, const std::string& flags, const stdfs::path& cwd = {},
                  const std::string& env = "") {
    return exec("tengo", "os := import(\"os\")\nfmt := import(\"fmt\")\n" + code, flags, cwd, env);
  }
  CliResult lua(const std::string& code, const std::string& flags, const stdfs::path& cwd = {}) {
    return exec("lua", code, flags, cwd);
  }
  std::string T() const { return t_.string(); }

  stdfs::path t_;
};

// Prints "ok <value>" or "<code>" for a Tengo result.
const char* kShow = R"(
show := func(r) {
  if is_error(r) { fmt.println(r.value.code) } else { fmt.println("ok " + string(r)) }
}
)";

// ---- Tengo os: item 1, the working directory ----

TEST_F(FileGrants, TengoChdirDoesNotEscapeTheReadGrant) {
  // The issue's reproducer: `.` and T/out granted; after chdir(T/out), ../proj is T/proj.
  auto r = tengo(std::string(kShow) + "show(os.chdir(\"" + T() + "/out\"))\n" +
                     "r := os.read_file(\"../proj/secret.txt\")\n"
                     "if is_error(r) { fmt.println(r.value.code) } else { fmt.println(string(r)) }\n"
                     "show(os.getwd())\n",
                 "--allow-read=. --allow-write=" + T() + "/out");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_EQ(r.out, "ok true\npermission_denied\nok " + T() + "/out\n");
}

TEST_F(FileGrants, TengoRelativePathsFollowTheSpellsDirectory) {
  stdfs::create_directories(t_ / "home" / "proj" / "sub");
  std::ofstream(t_ / "home" / "proj" / "sub" / "a.txt") << "A";
  auto r = tengo(std::string(kShow) +
                     "show(os.chdir(\"sub\"))\n"
                     "fmt.println(string(os.read_file(\"a.txt\")))\n"
                     "show(os.mkdir(\"new\", 0755))\n"
                     "show(os.chdir(\"a.txt\"))\n"
                     "show(os.chdir(\"" + T() + "/proj\"))\n",
                 "--allow-write=.");
  EXPECT_EQ(r.out, "ok true\nA\nok true\ninvalid_argument\npermission_denied\n");
  EXPECT_TRUE(stdfs::is_directory(t_ / "home" / "proj" / "sub" / "new"));
  EXPECT_FALSE(stdfs::exists(t_ / "home" / "proj" / "new"));  // not the process's directory
}

TEST_F(FileGrants, TengoRenameCannotMoveAFileOutOfAnUngrantedFolder) {
  auto r = tengo(std::string(kShow) + "show(os.rename(\"" + T() + "/proj/secret.txt\", \"stolen.txt\"))\n" +
                     "show(os.rename(\"../../proj/secret.txt\", \"stolen.txt\"))\n"
                     "show(os.chdir(\"" + T() + "/proj\"))\n"
                     "show(os.remove(\"../../proj/secret.txt\"))\n"
                     "show(os.remove_all(\"../../proj\"))\n"
                     "show(os.rename(\"" + T() + "/out\", \"moved\"))\n",
                 "--allow-write=.");
  EXPECT_EQ(r.out, "permission_denied\npermission_denied\npermission_denied\npermission_denied\n"
                   "permission_denied\npermission_denied\n");
  EXPECT_TRUE(stdfs::exists(t_ / "proj" / "secret.txt"));
  EXPECT_FALSE(stdfs::exists(t_ / "home" / "proj" / "stolen.txt"));
}

TEST_F(FileGrants, TengoFileOperationsInsideTheGrant) {
  auto r = tengo(std::string(kShow) +
                     "show(os.mkdir_all(\"a/b/c\", 0755))\n"
                     "fs := import(\"fs\")\n"
                     "fs.write(\"a/b/c/f.txt\", \"F\")\n"
                     "show(os.rename(\"a/b/c/f.txt\", \"a/g.txt\"))\n"
                     "fmt.println(string(os.read_file(\"a/g.txt\")))\n"
                     "show(os.remove(\"a\"))\n"
                     "show(os.remove_all(\"a\"))\n"
                     "show(os.remove_all(\"a\"))\n"
                     "show(os.read_file(\"a/g.txt\"))\n",
                 "--allow-write=.");
  EXPECT_EQ(r.out, "ok true\nok true\nF\ninvalid_argument\nok true\nok true\nnot_found\n");
  EXPECT_FALSE(stdfs::exists(t_ / "home" / "proj" / "a"));
}

// ---- Tengo os: item 2, the environment and process facts ----

TEST_F(FileGrants, TengoExpandEnvOnlySeesGrantedVariables) {
  std::string code = std::string(kShow) + "show(os.expand_env(\"w/${LLMSPELL_T_SECRET}\"))\n"
                                          "show(os.getenv(\"LLMSPELL_T_SECRET\"))\n"
                                          "show(os.lookup_env(\"LLMSPELL_T_SECRET\"))\n"
                                          "fmt.println(len(os.environ()))\n";
  auto denied = tengo(code, "--allow-write=w", {}, "LLMSPELL_T_SECRET=sk-leak");
  EXPECT_EQ(denied.out, "permission_denied\npermission_denied\npermission_denied\n0\n");
  EXPECT_EQ(denied.out.find("sk-leak"), std::string::npos);
  auto granted = tengo(code, "--allow-env=LLMSPELL_T_SECRET", {}, "LLMSPELL_T_SECRET=sk-ok");
  EXPECT_EQ(granted.out, "ok w/sk-ok\nok sk-ok\nok sk-ok\n1\n");
}

TEST_F(FileGrants, TengoSetenvAndUnsetenvChangeOnlyTheSpellsView) {
  // env.get reads the process environment: it must still see PATH after os.unsetenv("PATH"),
  // and never see what os.setenv set.
  auto r = tengo(std::string(kShow) + "env := import(\"env\")\n"
                                      "show(os.unsetenv(\"PATH\"))\n"
                                      "show(os.lookup_env(\"PATH\"))\n"
                                      "fmt.println(is_undefined(env.get(\"PATH\")))\n"
                                      "show(os.setenv(\"LLMSPELL_T_NEW\", \"v\"))\n"
                                      "show(os.getenv(\"LLMSPELL_T_NEW\"))\n"
                                      "fmt.println(is_undefined(env.get(\"LLMSPELL_T_NEW\")))\n"
                                      "fmt.println(os.environ())\n"
                                      "show(os.setenv(\"HOME\", \"/x\"))\n",
                 "--allow-env=PATH --allow-env=LLMSPELL_T_NEW");
  EXPECT_EQ(r.out, "ok true\nok false\nfalse\nok true\nok v\ntrue\n[\"LLMSPELL_T_NEW=v\"]\n"
                   "permission_denied\n");
}

TEST_F(FileGrants, TengoProcessFactsNeedGrants) {
  auto each = tengo(std::string(kShow) + "show(os.hostname())\nshow(os.getpid())\n"
                                         "show(os.getuid())\nshow(os.exec_look_path(\"sh\"))\n"
                                         "show(os.temp_dir())\nshow(os.getwd())\n",
                    "");
  EXPECT_EQ(each.out, "permission_denied\npermission_denied\npermission_denied\n"
                      "permission_denied\npermission_denied\npermission_denied\n");
  auto granted = tengo(std::string(kShow) + "fmt.println(os.getpid() > 0)\n"
                                            "fmt.println(is_string(os.hostname()))\n"
                                            "fmt.println(os.exec_look_path(\"sh\"))\n"
                                            "show(os.temp_dir())\nshow(os.getwd())\n",
                       "--allow-run --allow-env=TMPDIR --allow-read=.", {}, "PATH=/bin:/usr/bin TMPDIR=/var/tmp");
  EXPECT_EQ(granted.out, "true\ntrue\n/bin/sh\nok /var/tmp\nok " + T() + "/home/proj\n");
}

// ---- Tengo os: item 3, a file swapped for a link while the spell reads it ----

TEST_F(FileGrants, TengoReadFileNeverFollowsALinkSwappedInAfterTheCheck) {
  stdfs::path g = t_ / "home" / "proj" / "g";
  stdfs::create_directories(g);
  std::ofstream(g / "f") << "INSIDE";
  std::atomic<bool> stop{false};
  std::atomic<long> swaps{0};
  // Atomically replaces g/f by a regular file or by a link to the outside secret, again and
  // again, while the spell reads g/f in a loop.
  std::thread swapper([&] {
    stdfs::path file = g / ".file", link = g / ".link";
    while (!stop.load()) {
      std::ofstream(file) << "INSIDE";
      ::rename(file.c_str(), (g / "f").c_str());
      ::symlink((t_ / "proj" / "secret.txt").c_str(), link.c_str());
      ::rename(link.c_str(), (g / "f").c_str());
      swaps.fetch_add(1);
    }
  });
  auto r = tengo("outside := 0\nreads := 0\n"
                 "for i := 0; i < 8000; i++ {\n"
                 "  r := os.read_file(\"g/f\")\n"
                 "  if !is_error(r) { reads++; if string(r) == \"OUTSIDE\" { outside++ } }\n"
                 "}\n"
                 "fmt.println(\"outside: \" + string(outside))\n",
                 "--allow-read=g");
  stop = true;
  swapper.join();
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_EQ(r.out, "outside: 0\n");
  EXPECT_GT(swaps.load(), 0);
}

// ---- item 7: a denial does not depend on what exists outside the grant ----

// Runs `code` with g/lnk pointing at T/outside/dir, once with that directory present and once
// without it (a dangling link); returns both outputs.
std::pair<std::string, std::string> liveAndDangling(const stdfs::path& t,
                                                    const std::function<CliResult()>& run) {
  stdfs::path g = t / "home" / "proj" / "g";
  stdfs::create_directories(g);
  stdfs::create_directories(t / "outside" / "dir");
  std::ofstream(t / "outside" / "x") << "secret";
  stdfs::create_directory_symlink(t / "outside" / "dir", g / "lnk");
  std::string live = run().out;
  stdfs::remove_all(t / "outside" / "dir");
  std::string dangling = run().out;
  return {live, dangling};
}

TEST_F(FileGrants, LuaDenialIsTheSameForALiveAndADanglingLink) {
  std::string code = R"(
local function show(f, ...)
  local ok, e = pcall(f, ...)
  print(ok and ("ok " .. tostring(e)) or (e.code .. ": " .. e.message))
end
show(fs.read, "g/lnk/../x")
show(fs.exists, "g/lnk/../x")
show(fs.mkdir, "g/lnk/../x")
show(fs.remove, "g/lnk/../x")
show(fs.write, "g/lnk/../y", "w")
show(fs.stat, "g/lnk/../x")
)";
  auto [live, dangling] = liveAndDangling(t_, [&] { return lua(code, "--allow-write=g"); });
  EXPECT_EQ(live, dangling);
  EXPECT_EQ(live,
            "permission_denied: read access to g/lnk/../x is not granted; run with "
            "--allow-read=g/lnk/../x or add it to permissions.read in spell.yaml\n"
            "permission_denied: read access to g/lnk/../x is not granted; run with "
            "--allow-read=g/lnk/../x or add it to permissions.read in spell.yaml\n"
            "permission_denied: write access to g/lnk/../x is not granted; run with "
            "--allow-write=g/lnk/../x or add it to permissions.write in spell.yaml\n"
            "permission_denied: write access to g/lnk/../x is not granted; run with "
            "--allow-write=g/lnk/../x or add it to permissions.write in spell.yaml\n"
            "permission_denied: write access to g/lnk/../y is not granted; run with "
            "--allow-write=g/lnk/../y or add it to permissions.write in spell.yaml\n"
            "permission_denied: read access to g/lnk/../x is not granted; run with "
            "--allow-read=g/lnk/../x or add it to permissions.read in spell.yaml\n");
  EXPECT_FALSE(stdfs::exists(t_ / "home" / "proj" / "g" / "x"));
  EXPECT_FALSE(stdfs::exists(t_ / "outside" / "y"));
}

TEST_F(FileGrants, TengoDenialIsTheSameForALiveAndADanglingLink) {
  std::string code = std::string(kShow) +
                     "fs := import(\"fs\")\n"
                     "show(os.read_file(\"g/lnk/../x\"))\n"
                     "show(os.mkdir(\"g/lnk/../x\", 0755))\n"
                     "show(os.remove(\"g/lnk/../x\"))\n"
                     "show(os.chdir(\"g/lnk/..\"))\n"
                     "show(fs.read(\"g/lnk/../x\"))\n"
                     "show(fs.exists(\"g/lnk/../x\"))\n";
  auto [live, dangling] = liveAndDangling(t_, [&] { return tengo(code, "--allow-write=g"); });
  EXPECT_EQ(live, dangling);
  EXPECT_EQ(live, "permission_denied\npermission_denied\npermission_denied\npermission_denied\n"
                  "permission_denied\npermission_denied\n");
}

TEST_F(FileGrants, MessagesNameOnlyThePathTheSpellWrote) {
  // /proc/self/cwd and /proc/self/exe resolve to the spell's directory and the binary; a link
  // inside a grant resolves outside it. None of those resolved paths may be printed.
  stdfs::path g = t_ / "home" / "proj" / "g";
  stdfs::create_directories(g);
  stdfs::create_directory_symlink(t_ / "proj", g / "lnk");
  std::string code = R"(
for _, p in ipairs({"/proc/self/cwd/x", "/proc/self/exe", "g/lnk/secret.txt", "g/lnk/missing"}) do
  local ok, e = pcall(fs.read, p)
  print(e.message)
  ok, e = pcall(fs.write, p, "x")
  print(e.message)
  ok, e = pcall(tools.call, "file_read", {path = p})
  print(e.message)
end
)";
  auto r = lua(code, "--allow-read=g");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_EQ(r.out.find(T()), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(stdfs::canonical(cliPath()).string()), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("read access to g/lnk/secret.txt is not granted"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--allow-read=/proc/self/exe"), std::string::npos) << r.out;
  // Tengo's os module says the same.
  auto t = tengo("r := os.read_file(\"/proc/self/cwd/x\")\nfmt.println(r.value.message)\n"
                 "r = os.read_file(\"g/lnk/secret.txt\")\nfmt.println(r.value.message)\n",
                 "--allow-read=g");
  EXPECT_EQ(t.out.find(T()), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("read access to g/lnk/secret.txt is not granted"), std::string::npos) << t.out;
}

TEST_F(FileGrants, PathsWithANulByteAreRefusedNotCut) {
  stdfs::path g = t_ / "home" / "proj" / "g";
  stdfs::create_directories(g);
  std::ofstream(g / "x") << "X";
  std::string code = R"(
local function code(f, ...)
  local ok, e = pcall(f, ...)
  print(ok and "ok" or e.code)
end
code(fs.read, "g/x\0.txt")
code(fs.exists, "g/x\0.txt")
code(fs.write, "g/x\0.txt", "y")
code(fs.remove, "g/x\0.txt")
code(fs.mkdir, "g/x\0/d")
code(tools.call, "file_read", {path = "g/x\0.txt"})
code(tools.call, "file_write", {path = "g/x\0.txt", content = "y"})
code(events.record, "g/x\0.jsonl")
)";
  auto r = lua(code, "--allow-read=g --allow-write=g");
  EXPECT_EQ(r.out, "invalid_argument\ninvalid_argument\ninvalid_argument\ninvalid_argument\n"
                       "invalid_argument\ninvalid_argument\ninvalid_argument\ninvalid_argument\n");
  std::ifstream f(g / "x");
  std::string content((std::istreambuf_iterator<char>(f)), {});
  EXPECT_EQ(content, "X");
  auto t = tengo(std::string(kShow) + "fs := import(\"fs\")\n"
                                      "show(os.read_file(\"g/x\\x00.txt\"))\n"
                                      "show(os.remove(\"g/x\\x00.txt\"))\n"
                                      "show(os.getenv(\"PATH\\x00X\"))\n"
                                      "show(fs.read(\"g/x\\x00.txt\"))\n",
                 "--allow-write=g --allow-env=PATH*");
  EXPECT_EQ(t.out, "invalid_argument\ninvalid_argument\ninvalid_argument\ninvalid_argument\n");
  EXPECT_TRUE(stdfs::exists(g / "x"));
}

}  // namespace

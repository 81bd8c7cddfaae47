// The utility namespaces from Lua, through the real `llmspell` binary: values cross the engine
// boundary, errors arrive as objects scripts can test, permissions stop the spell.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace {

namespace stdfs = std::filesystem;

const std::string kCli = std::string(LLMSPELL_BINARY_DIR) + "/src/cli/llmspell";

struct RunResult {
  int exit = -1;
  std::string out, err;
};

class SpellCli : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/llmspell-util-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = stdfs::canonical(tmpl);
  }
  void TearDown() override { stdfs::remove_all(dir_); }

  // Writes `code` to a spell file and runs it with `flags`.
  RunResult run(const std::string& code, const std::string& flags = "") {
    stdfs::path spell = dir_ / ("spell" + std::to_string(++n_) + ".lua");
    std::ofstream(spell) << code;
    std::string errFile = (dir_ / "stderr.txt").string();
    std::string cmd = kCli + " run " + spell.string() + " " + flags + " 2>" + errFile;
    RunResult r;
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) return r;
    std::array<char, 4096> buf;
    size_t k;
    while ((k = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), k);
    int st = pclose(p);
    r.exit = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    std::ifstream e(errFile);
    std::stringstream ss;
    ss << e.rdbuf();
    r.err = ss.str();
    return r;
  }

  stdfs::path dir_;
  int n_ = 0;
};

TEST_F(SpellCli, DataAndTextUtilities) {
  auto r = run(R"(
local v = json.decode('{"name":"Ann","tags":["a","b"],"n":3}')
print(v.name, #v.tags, v.n)
print(json.encode({b = 1, a = {true, false}}, {sort_keys = true}))
print(yaml.decode("x: [1, 2]\ny: hi\n").y)
print(crypto.hash("abc", "md5"), crypto.hex_decode("6869"), crypto.base64_encode("hi"))
print(text.template("Hello {{ who.name }}!", {who = {name = "World"}}))
print(text.slugify("Ça va, Monde?"), text.truncate("abcdefgh", 5))
print(#text.chunk(string.rep("word ", 400), {max_tokens = 100}))
print(time.format(86400), time.parse("1970-01-02T00:00:00Z"))
local res = schema.validate({age = "x"}, {type = "object", properties = {age = {type = "integer"}}, required = {"name"}})
print(res.ok, #res.errors, res.errors[1].path, res.errors[2].message)
print(schema.infer({1, 2}).items.type)
)");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out,
            "Ann\t2\t3\n"
            "{\"a\":[true,false],\"b\":1}\n"
            "hi\n"
            "900150983cd24fb0d6963f7d28e17f72\thi\taGk=\n"
            "Hello World!\n"
            "ca-va-monde\tab...\n"
            "5\n"
            "1970-01-02T00:00:00Z\t86400.0\n"
            "false\t2\t$.name\texpected integer, got string \"x\"\n"
            "integer\n");
}

TEST_F(SpellCli, ErrorsAreObjectsScriptsCanTest) {
  auto r = run(R"(
local ok, e = pcall(json.decode, "{bad")
print(ok, e.code, errors.is(e, "invalid_argument"))
local ok2, e2 = pcall(text.template, "{{missing}}", {})
print(e2.code, e2.message:find("'missing'") ~= nil)
local v = errors.try(function() error(errors.new("not_found", "no row", {id = 7})) end,
                     function(err) return err.code .. ":" .. err.details.id end)
print(v)
local n = 0
print(errors.retry(function(attempt) n = n + 1
  if attempt < 3 then error(errors.new("rate_limited", "slow down")) end
  return "ok after " .. attempt end, {backoff = 0.001}), n)
print(errors.fallback({function() error("first fails") end, function() return "second" end}))
local w = errors.wrap(errors.new("timeout", "llm call"), "summarizing")
print(w.message, w.code, errors.is(w, "timeout"))
local p = errors.try_async(function() return 5 end)
print(await(p))
)");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out,
            "false\tinvalid_argument\ttrue\n"
            "invalid_argument\ttrue\n"
            "not_found:7\n"
            "ok after 3\t3\n"
            "second\n"
            "summarizing: llm call\ttimeout\ttrue\n"
            "5\n");
}

TEST_F(SpellCli, FsNeedsGrantsAndStaysInside) {
  stdfs::create_directories(dir_ / "data");
  stdfs::create_directories(dir_ / "private");
  std::ofstream(dir_ / "private" / "key.txt") << "secret";
  stdfs::create_symlink(dir_ / "private" / "key.txt", dir_ / "data" / "escape.txt");
  std::string data = (dir_ / "data").string();
  std::string code = "local d = '" + data + "'\n" + R"(
fs.write(d .. "/out.txt", "line1\n")
fs.append(d .. "/out.txt", "line2\n")
print(fs.read(d .. "/out.txt"))
print(table.concat(fs.list(d), ","))
print(fs.exists(d .. "/nope"), fs.stat(d .. "/out.txt").size)
local ok, e = pcall(fs.read, d .. "/escape.txt")
print(ok, e.code)
local ok2, e2 = pcall(fs.read, d .. "/../private/key.txt")
print(ok2, e2.code)
local ok3, e3 = pcall(fs.read, d .. "/missing.txt")
print(ok3, e3.code)
)";
  auto r = run(code, "--allow-write=" + data);
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out,
            "line1\nline2\n\n"
            "escape.txt,out.txt\n"
            "false\t12\n"
            "false\tpermission_denied\n"
            "false\tpermission_denied\n"
            "false\tnot_found\n");

  // Without a grant the spell stops with the permission exit code and names the flag.
  auto denied = run("fs.read('" + data + "/out.txt')");
  EXPECT_EQ(denied.exit, 3);
  EXPECT_NE(denied.err.find("--allow-read"), std::string::npos) << denied.err;
}

TEST_F(SpellCli, EnvNeedsGrant) {
  setenv("LLMSPELL_UTIL_TEST", "from-env", 1);
  auto ok = run("print(env.get('LLMSPELL_UTIL_TEST'), env.get('LLMSPELL_UTIL_NOPE', 'dflt'))",
                "--allow-env=LLMSPELL_UTIL_*");
  ASSERT_EQ(ok.exit, 0) << ok.err;
  EXPECT_EQ(ok.out, "from-env\tdflt\n");
  auto denied = run("print(env.get('LLMSPELL_UTIL_TEST'))");
  EXPECT_EQ(denied.exit, 3);
  EXPECT_NE(denied.err.find("--allow-env=LLMSPELL_UTIL_TEST"), std::string::npos) << denied.err;
}

TEST_F(SpellCli, LoggerObjectsHaveMethods) {
  auto r = run(R"(
log.level("info")
local l = log.with({job = "sync"})
l:info("started", {step = 1})
l:with({part = 2}):warn("halfway")
print(type(l))
)");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_NE(r.err.find("started job=sync step=1"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("halfway job=sync part=2"), std::string::npos) << r.err;
}

}  // namespace

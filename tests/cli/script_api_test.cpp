// The script API as a spell sees it, through the real `llmspell` binary (issue #11's script API,
// hooks and command-line items): values keep their JSON shape across the engine boundary, nil is
// accepted where a schema admits it, mistyped names are answered with the closest names, limits
// stop uncatchably, spells take positional arguments.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "fake_provider.hpp"
#include "support/cli.hpp"

namespace {

using json = nlohmann::json;
using llmspell::test::runCli;
using llmspell::test::runShell;
using llmspell::test::shellQuote;
namespace stdfs = std::filesystem;

class ScriptApi : public testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/llmspell-api-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { stdfs::remove_all(dir_); }

  // Writes `code` to NAME in the test's directory; returns its path.
  std::string write(const std::string& name, const std::string& code) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << code;
    return path;
  }
  // Runs spell `code` (Lua, or Tengo when `ext` is ".tengo") with `flags`.
  llmspell::test::CliResult spell(const std::string& code, const std::string& flags = "",
                                  const std::string& ext = ".lua") {
    return runCli("run " + write("spell" + std::to_string(++n_) + ext, code) + " " + flags);
  }

  std::string dir_;
  int n_ = 0;
};

// ---- item 7: JSON arrays round-trip in Lua ----

TEST_F(ScriptApi, LuaJsonArraysRoundTrip) {
  auto r = spell(R"(
print(json.encode(json.decode("[1,null,3]")))
print(json.encode(json.decode("[]")))
print(json.encode(json.decode('{"a":[]}')))
print(json.encode(json.decode("[1,null]")))
print(json.encode(json.decode("{}")))
print(json.encode(json.array()), json.encode(json.object()), json.encode(json.array({1, 2})))
local o = json.object(); o[1] = "x"; print(json.encode(o))
local a = json.decode("[]"); a[#a + 1] = 5; print(json.encode(a))
print(json.encode({}), json.encode({1, 2}), json.encode(setmetatable({}, {__jsontype = "array"})))
)");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out,
            "[1,null,3]\n[]\n{\"a\":[]}\n[1,null]\n{}\n"
            "[]\t{}\t[1,2]\n"
            "{\"1\":\"x\"}\n"
            "[5]\n"
            "{}\t[1,2]\t[]\n");
}

// The same conversion everywhere a table becomes a value: state, events, tool results.
TEST_F(ScriptApi, LuaArraysKeepTheirShapeInStateEventsAndTools) {
  auto r = spell(R"(
state.set("k", json.decode('{"list":[],"holes":[1,null,3]}'))
print(json.encode(state.get("k"), {sort_keys = true}))
tools.define{name = "empty", parameters = {type = "object"}, run = function() return json.array() end}
print(json.encode(tools.call("empty", {})))
local got
events.on("x.y", function(e) got = e.data end)
events.emit("x.y", {items = json.array()})
sleep(0)
print(json.encode(got))
)",
                 "", ".lua");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out,
            "{\"holes\":[1,null,3],\"list\":[]}\n"
            "[]\n"
            "{\"items\":[]}\n");
}

TEST_F(ScriptApi, TengoJsonArrayAndObject) {
  auto r = spell(R"(
json := import("json")
fmt := import("fmt")
fmt.println(string(json.encode(json.array())), " ", string(json.encode(json.object())))
)",
                 "", ".tengo");
  ASSERT_EQ(r.exit, 0) << r.err << r.out;
  EXPECT_EQ(r.out, "[] {}\n");
}

}  // namespace

// Binding tests for the Lua engine: inline snippets through the real registry and loop.
#include <gtest/gtest.h>

#include "llmspell/engines/lua/lua_engine.hpp"
#include "llmspell/spell/spell.hpp"

using namespace llmspell;

namespace {

struct Ran {
  Value value;
  std::optional<Error> error;
};

Ran runLua(const std::string& code, Limits limits = {}) {
  Loop loop;
  RunContext run(loop);
  auto ctx = luaEngine().createContext(run, limits);
  auto p = ctx->run(code, "snippet.lua");
  loop.runUntil([&] { return !p->pending() && !ctx->busy(); });
  Ran r;
  if (p->fulfilled()) r.value = p->value();
  else if (p->rejected()) r.error = p->error();
  else r.error = Error(codes::kInternal, "still pending");
  return r;
}

}  // namespace

TEST(LuaBinding, ValuesCrossBothWays) {
  auto r = runLua("return {1, 2.5, 'x', true, {a = {b = 1}}, nil}");
  ASSERT_FALSE(r.error) << r.error->toString();
  ASSERT_TRUE(r.value.isArray());
  EXPECT_TRUE(r.value.asArray()[0].isInt());
  EXPECT_TRUE(r.value.asArray()[1].isDouble());
  EXPECT_EQ(r.value.asArray()[4].get("a").getInt("b"), 1);
}

TEST(LuaBinding, HostErrorsAreObjectsWithPositions) {
  auto r = runLua("local ok, e = pcall(sleep, -1)\nreturn {ok, e.code, e.line, e.retryable}");
  ASSERT_FALSE(r.error) << r.error->toString();
  auto& a = r.value.asArray();
  EXPECT_FALSE(a[0].asBool());
  EXPECT_EQ(a[1].asString(), "invalid_argument");
  EXPECT_EQ(a[2].asInt(), 1);
}

TEST(LuaBinding, ScriptErrorsCarrySourceAndLine) {
  auto r = runLua("local x = 1\nerror('boom')");
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->code, "script_error");
  EXPECT_EQ(r.error->message, "boom");
  EXPECT_EQ(r.error->line, 2);
  EXPECT_EQ(r.error->source, "snippet.lua");
}

TEST(LuaBinding, ErrorObjectsThrownByScriptsKeepTheirCode) {
  auto r = runLua("error({code = 'not_found', message = 'no such thing'})");
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->code, "not_found");
}

TEST(LuaBinding, AsyncCallsSuspendAndTwinsReturnPromises) {
  auto r = runLua(R"(
    local p = sleep_async(0.01)
    assert(p:status() == "pending")
    sleep(0.01)
    await(p)
    return p:status())");
  ASSERT_FALSE(r.error) << r.error->toString();
  EXPECT_EQ(r.value.asString(), "fulfilled");
}

TEST(LuaBinding, LuaFunctionsAreCallableFromTheHost) {
  Loop loop;
  RunContext run(loop);
  auto ctx = luaEngine().createContext(run, {});
  auto p = ctx->run("return function(a, b) sleep(0.001) return a * b end", "f.lua");
  loop.runUntil([&] { return !p->pending(); });
  ASSERT_TRUE(p->fulfilled());
  ASSERT_TRUE(p->value().isFunction());
  auto call = p->value().asFunction()->call({Value(6), Value(7)});
  loop.runUntil([&] { return !call->pending(); });
  ASSERT_TRUE(call->fulfilled());
  EXPECT_EQ(call->value().asInt(), 42);
}

TEST(LuaBinding, ArgumentValidationMessageComesFromTheRegistry) {
  auto r = runLua("local ok, e = pcall(channel, 'big') return e.message");
  ASSERT_FALSE(r.error);
  EXPECT_EQ(r.value.asString(), "channel: argument 1 'capacity' expected integer, got string \"big\"");
}

TEST(LuaLimits, NextSpellInTheSameProcessRunsNormally) {
  Limits tight;
  tight.memoryBytes = 16u << 20;
  tight.instructions = 2'000'000;
  for (const char* bomb : {"while true do end", "local t = {} while true do t[#t+1] = {} end",
                           "local s = string.rep('x', 1 << 30)",
                           "local function f() return f() + 1 end f()",
                           "while true do pcall(function() while true do end end) end"}) {
    auto r = runLua(bomb, tight);
    ASSERT_TRUE(r.error) << bomb;
    EXPECT_EQ(r.error->code, "limit_exceeded") << bomb << " -> " << r.error->toString();
    auto ok = runLua("local t = {} for i = 1, 1000 do t[i] = i end return #t", tight);
    ASSERT_FALSE(ok.error) << ok.error->toString();
    EXPECT_EQ(ok.value.asInt(), 1000);
  }
}

TEST(LuaLimits, IdleContextIsSmall) {
  Loop loop;
  RunContext run(loop);
  auto ctx = luaEngine().createContext(run, {});
  // Reported, and bounded generously: the benchmark reports the exact figure.
  EXPECT_LT(ctx->memoryUsed(), 1u << 20) << ctx->memoryUsed();
}

TEST(LuaSandbox, DeniedGlobalsRaisePermissionDenied) {
  for (const char* code : {"io.open('x')", "os.execute('id')", "debug.getinfo(1)", "dofile('x')",
                           "package.loadlib('a', 'b')", "string.dump(print)", "collectgarbage('stop')"}) {
    auto r = runLua(code);
    ASSERT_TRUE(r.error) << code;
    EXPECT_EQ(r.error->code, "permission_denied") << code << " -> " << r.error->toString();
  }
}

// table, math, utf8, os and coroutine are made the first time a spell uses them (lua_engine.cpp,
// "standard libraries made on first use"): read, required, listed or rawget, they are the
// libraries; a name the spell assigns first keeps the spell's value.
TEST(LuaSandbox, LibrariesMadeOnFirstUseBehaveAsIfOpenedAtTheStart) {
  auto r = runLua(R"(
    local out = {}
    out[#out + 1] = package.loaded.math == nil                         -- not made yet
    out[#out + 1] = math.floor(2.5) == 2 and require("math") == math   -- made on read, one table
    out[#out + 1] = require("utf8") == utf8 and utf8.char(72) == "H"    -- made on require
    out[#out + 1] = type(rawget(_G, "table")) == "table"
    local seen = {}
    for k in pairs(_G) do seen[k] = true end
    out[#out + 1] = seen.os and seen.coroutine and true or false
    out[#out + 1] = os.time() > 0 and not pcall(os.execute, "id") and require("os") == os
    local co = coroutine.wrap(function(a) local b = coroutine.yield(a + 1) return b * 2 end)
    out[#out + 1] = co(1) == 2 and co(10) == 20
    -- a coroutine of the spell's own still passes host async calls through
    local f = coroutine.wrap(function() return llm.chat("echoed", {model = "mock/echo"}).text end)
    out[#out + 1] = f() == "echoed"
    return out
  )");
  ASSERT_FALSE(r.error) << r.error->toString();
  for (size_t i = 0; i < r.value.asArray().size(); ++i) EXPECT_TRUE(r.value.asArray()[i].asBool()) << "check " << i + 1;

  auto claimed = runLua("math = 'mine'; table = nil; return {math, table == nil, require('table') ~= nil}");
  ASSERT_FALSE(claimed.error) << claimed.error->toString();
  EXPECT_EQ(claimed.value.asArray()[0].asString(), "mine");
  EXPECT_TRUE(claimed.value.asArray()[1].asBool());
  EXPECT_TRUE(claimed.value.asArray()[2].asBool());

  // The wrappers take table's functions from the library itself, not from the spell's globals.
  auto swapped = runLua("table = {pack = 1, unpack = 2}; local co = coroutine.wrap(function() return 7 end); return co()");
  ASSERT_FALSE(swapped.error) << swapped.error->toString();
  EXPECT_EQ(swapped.value.asInt(), 7);
}

// A chunk compiled before is loaded from its bytecode (CompiledChunks): the second run of the same
// source reads the same, line numbers and names included, and a changed source is compiled anew.
TEST(LuaBinding, ASourceRunAgainFromItsBytecodeReadsTheSame) {
  const std::string code = "local x = 1\nlocal function boom() error('line three') end\nboom()\n";
  auto first = runLua(code);
  auto second = runLua(code);
  ASSERT_TRUE(first.error && second.error);
  EXPECT_EQ(first.error->toString(), second.error->toString());
  EXPECT_NE(second.error->toString().find("snippet.lua:2"), std::string::npos) << second.error->toString();
  auto changed = runLua("local x = 1\n\nlocal function boom() error('line three') end\nboom()\n");
  ASSERT_TRUE(changed.error);
  EXPECT_NE(changed.error->toString().find("snippet.lua:3"), std::string::npos) << changed.error->toString();
}

// A namespace's functions are bound one by one on first read (lua_engine.cpp, bindMember): listed,
// rawget or read, each is there; a name the spell assigns first keeps the spell's value; a
// mistake is still answered with the closest names.
TEST(LuaBinding, NamespaceFunctionsBoundOnFirstReadLookBoundFromTheStart) {
  size_t want = 0;
  for (const auto& d : Registry::global().functions())
    if (d.ns == "json" && d.self.empty()) want += d.async && !d.property ? 2 : 1;
  auto r = runLua(R"(
    local n = 0
    for k, v in pairs(json) do if type(v) == "function" then n = n + 1 end end
    return {n, type(rawget(llm, "chat")), type(rawget(llm, "chat_async")), rawget(llm, "nope") == nil})");
  ASSERT_FALSE(r.error) << r.error->toString();
  EXPECT_EQ(static_cast<size_t>(r.value.asArray()[0].asInt()), want);
  EXPECT_EQ(r.value.asArray()[1].asString(), "function");
  EXPECT_EQ(r.value.asArray()[2].asString(), "function");
  EXPECT_TRUE(r.value.asArray()[3].asBool());

  auto mine = runLua("json.encode = 'mine'; return {json.encode, json.decode('[1]')[1]}");
  ASSERT_FALSE(mine.error) << mine.error->toString();
  EXPECT_EQ(mine.value.asArray()[0].asString(), "mine");
  EXPECT_EQ(mine.value.asArray()[1].asInt(), 1);

  auto typo = runLua("return json.decod('[]')");
  ASSERT_TRUE(typo.error);
  EXPECT_EQ(typo.error->code, "not_found");
  EXPECT_NE(typo.error->message.find("did you mean json.decode?"), std::string::npos) << typo.error->message;
}

// The registry's global functions too: bound on first read, listed, rawget, or claimed.
TEST(LuaBinding, GlobalFunctionsBoundOnFirstReadLookBoundFromTheStart) {
  auto r = runLua(R"(
    local seen = {}
    for k, v in pairs(_G) do seen[k] = type(v) end
    return {seen.sleep, seen.sleep_async, seen.spawn, type(rawget(_G, "await"))})");
  ASSERT_FALSE(r.error) << r.error->toString();
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(r.value.asArray()[i].asString(), "function") << i;
  auto mine = runLua("sleep = 'mine'; return {sleep, type(spawn)}");
  ASSERT_FALSE(mine.error) << mine.error->toString();
  EXPECT_EQ(mine.value.asArray()[0].asString(), "mine");
  EXPECT_EQ(mine.value.asArray()[1].asString(), "function");
}

// The collector waits after set-up until the state doubles (LuaCtx::gcParked), then runs as usual:
// garbage made far past the memory limit in few instructions is still collected in time.
TEST(LuaLimits, TheCollectorWakesInTimeForGarbageUnderALowLimit) {
  Limits limits;
  limits.memoryBytes = 16u << 20;
  auto r = runLua("local running = collectgarbage('isrunning')\n"
                  "for i = 1, 300 do local s = string.rep('x', 1024 * 1024) .. i end\n"
                  "return {running, collectgarbage('count') < 16 * 1024}", limits);
  ASSERT_FALSE(r.error) << r.error->toString();
  EXPECT_TRUE(r.value.asArray()[0].asBool());
  EXPECT_TRUE(r.value.asArray()[1].asBool());
}

// Namespaces are bound the first time a spell reads them (lua_engine.cpp, "Binding the registry,
// on demand"); a spell cannot tell.
TEST(LuaBinding, NamespacesBoundOnFirstReadLookBoundFromTheStart) {
  // pairs(_G) lists every namespace, as tables with their functions.
  auto listed = runLua("local names = {} for k in pairs(_G) do names[k] = true end\n"
                       "return {names.llm == true, names.json == true, names.workflow == true, type(rawget(_G, 'llm')) == 'table'}");
  ASSERT_FALSE(listed.error) << listed.error->toString();
  for (const auto& v : listed.value.asArray()) EXPECT_TRUE(v.asBool()) << listed.value.describe();
  std::string want;
  for (const auto& ns : Registry::global().namespaces()) want += "'" + ns + "', ";
  auto count = runLua("local seen = {} for k, v in pairs(_G) do seen[k] = type(v) end\n"
                      "local n = 0 for _, ns in ipairs({" + want + "}) do if seen[ns] == 'table' then n = n + 1 end end\n"
                      "return n");
  ASSERT_FALSE(count.error) << count.error->toString();
  EXPECT_EQ(static_cast<size_t>(count.value.asInt()), Registry::global().namespaces().size());

  // rawget and getmetatable on the globals, before anything was read.
  auto raw = runLua("return {type(rawget(_G, 'json')), getmetatable(_G) == nil, rawget(_G, 'no_such_global') == nil}");
  ASSERT_FALSE(raw.error) << raw.error->toString();
  EXPECT_EQ(raw.value.asArray()[0].asString(), "table");
  EXPECT_TRUE(raw.value.asArray()[1].asBool());
  EXPECT_TRUE(raw.value.asArray()[2].asBool());

  // A name the spell assigns first keeps the spell's value, nil included; a namespace read and
  // then assigned nil stays nil.
  auto mine = runLua("json = 5\nllm = nil\nlocal s = state\nstate = nil\nreturn {json, llm == nil, type(s), state == nil}");
  ASSERT_FALSE(mine.error) << mine.error->toString();
  EXPECT_EQ(mine.value.asArray()[0].asInt(), 5);
  EXPECT_TRUE(mine.value.asArray()[1].asBool());
  EXPECT_EQ(mine.value.asArray()[2].asString(), "table");
  EXPECT_TRUE(mine.value.asArray()[3].asBool());

  // The strict-globals idiom: the spell's own metatable on _G, and every namespace still there.
  auto strict = runLua(
      "setmetatable(_G, {__newindex = function(t, k, v) rawset(t, k, v) end,\n"
      "                  __index = function(_, k) error('undeclared global ' .. k, 2) end})\n"
      "local ok, err = pcall(function() return undeclared_x end)\n"
      "return {type(llm.chat), type(json.encode), ok, tostring(err):find('undeclared global undeclared_x') ~= nil, getmetatable(_G) ~= nil}");
  ASSERT_FALSE(strict.error) << strict.error->toString();
  const auto& a = strict.value.asArray();
  EXPECT_EQ(a[0].asString(), "function");
  EXPECT_EQ(a[1].asString(), "function");
  EXPECT_FALSE(a[2].asBool());
  EXPECT_TRUE(a[3].asBool());
  EXPECT_TRUE(a[4].asBool());

  // A misspelt member is still answered with the namespace's suggestion.
  auto typo = runLua("return json.encdoe({})");
  ASSERT_TRUE(typo.error);
  EXPECT_EQ(typo.error->code, "not_found");
  EXPECT_NE(typo.error->message.find("encode"), std::string::npos) << typo.error->message;
}

// The state's small-block pool: blocks move between size classes and to and from malloc as
// strings, tables and their arrays grow and shrink, with the contents intact.
TEST(LuaLimits, BlocksThatGrowAndShrinkKeepTheirContents) {
  auto r = runLua(
      "local total = 0\n"
      "for round = 1, 20 do\n"
      "  local t = {}\n"
      "  for i = 1, round * 40 do t[i] = string.rep(string.char(65 + i % 26), i % 300) end\n"
      "  for i = #t, 1, -1 do if i % 3 ~= 0 then t[i] = nil end end\n"
      "  collectgarbage()\n"
      "  for i = 3, round * 40, 3 do\n"
      "    assert(t[i] == string.rep(string.char(65 + i % 26), i % 300), 'lost ' .. i)\n"
      "    total = total + #t[i]\n"
      "  end\n"
      "end\n"
      "return total");
  ASSERT_FALSE(r.error) << r.error->toString();
  EXPECT_GT(r.value.asInt(), 0);
}

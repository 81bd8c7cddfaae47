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

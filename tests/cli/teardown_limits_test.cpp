// The limits hold for a spell's whole life, teardown included: spell.finish handlers, callbacks
// of work cancelled when the spell ends, and Lua finalizers run under the time, instruction and
// memory limits, and a stop there fails the run (limit_exceeded, exit 3) saying where it
// happened. Past the time limit the hard stop applies there as in the main chunk. (`timeout 20`
// only keeps a regression from hanging CTest; nothing here depends on how long a stop takes.)
#include <gtest/gtest.h>

#include "support/cli.hpp"

namespace {

using llmspell::test::CliResult;

// `llmspell exec CODE FLAGS`, stdout and stderr together.
CliResult exec(const std::string& code, const std::string& flags) {
  return llmspell::test::runShell("timeout 20 " + llmspell::test::cliPath() + " exec " +
                                  llmspell::test::shellQuote(code) + " " + flags + " 2>&1");
}

bool has(const CliResult& r, const std::string& text) { return r.out.find(text) != std::string::npos; }

// A string.find that backtracks for minutes, inside C where no hook runs.
const char* const kBacktrack = "string.find(string.rep('a', 40) .. 'c', string.rep('a*', 16) .. 'b')";

// The reproducer: whether the collector runs the finalizer before the end or lua_close
// runs it, the limit stops it.
TEST(TeardownLimits, LuaFinalizerThatLoopsIsStopped) {
  auto r = exec("setmetatable({}, {__gc = function() while true do end end}) print('bye')", "--timeout 1");
  EXPECT_EQ(r.exit, 3) << r.out;
  EXPECT_TRUE(has(r, "bye")) << r.out;
  EXPECT_TRUE(has(r, "error[limit_exceeded]: time limit of 1s exceeded")) << r.out;
}

// Finalizers run with the count hook on: lua_close's finalizer stops at the time limit and at the
// instruction limit (which has no hard stop behind it), and the message says where.
TEST(TeardownLimits, LuaFinalizerAtCloseRunsUnderTheLimits) {
  const std::string code = "keep = setmetatable({}, {__gc = function() while true do end end}) print('bye')";
  auto timed = exec(code, "--timeout 1");
  EXPECT_EQ(timed.exit, 3) << timed.out;
  EXPECT_TRUE(has(timed, "bye")) << timed.out;
  EXPECT_TRUE(has(timed, "error[limit_exceeded]: time limit of 1s exceeded during teardown (in a finalizer (__gc)"))
      << timed.out;

  auto counted = exec(code, "--instruction-limit 1000000");
  EXPECT_EQ(counted.exit, 3) << counted.out;
  EXPECT_TRUE(has(counted, "error[limit_exceeded]: instruction limit of 1000000 exceeded during teardown (in a finalizer (__gc)"))
      << counted.out;

  auto json = exec(code, "--timeout 1 -o json");
  EXPECT_EQ(json.exit, 3) << json.out;
  EXPECT_TRUE(has(json, "\"code\": \"limit_exceeded\"")) << json.out;
  EXPECT_TRUE(has(json, "during teardown")) << json.out;
  EXPECT_TRUE(has(json, "\"exit_code\": 3")) << json.out;
}

// A finalizer the collector runs in the middle of the main chunk is stopped there, and the
// stop ends the chunk too.
TEST(TeardownLimits, LuaFinalizerDuringTheChunkStopsTheSpell) {
  auto r = exec("setmetatable({}, {__gc = function() while true do end end}) collectgarbage() print('after')",
                "--instruction-limit 1000000");
  EXPECT_EQ(r.exit, 3) << r.out;
  EXPECT_FALSE(has(r, "after")) << r.out;
  EXPECT_TRUE(has(r, "error[limit_exceeded]: instruction limit of 1000000 exceeded")) << r.out;
}

// Finalizers still work: one that returns runs at the end, and the run succeeds.
TEST(TeardownLimits, LuaFinalizerThatReturnsStillRuns) {
  auto r = exec("keep = setmetatable({}, {__gc = function() print('finalized') end}) print('bye')", "--timeout 5");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_TRUE(has(r, "bye\nfinalized")) << r.out;
}

TEST(TeardownLimits, LuaFinishHandlerThatLoopsFailsTheRun) {
  auto r = exec("events.on('spell.finish', function() while true do end end) print('main done')", "--timeout 1");
  EXPECT_EQ(r.exit, 3) << r.out;
  EXPECT_TRUE(has(r, "main done")) << r.out;
  EXPECT_TRUE(has(r, "error[limit_exceeded]: time limit of 1s exceeded during teardown (in a spell.finish handler)"))
      << r.out;
}

TEST(TeardownLimits, LuaFinishHandlerOverTheMemoryLimitFailsTheRun) {
  auto r = exec("events.on('spell.finish', function() local t = {} for i = 1, 1e9 do t[i] = i end end)",
                "--memory-limit 16");
  EXPECT_EQ(r.exit, 3) << r.out;
  EXPECT_TRUE(has(r, "error[limit_exceeded]: memory limit of 16 MiB exceeded during teardown (in a spell.finish handler)"))
      << r.out;
}

// A built-in call stuck past the time limit in teardown meets the hard stop.
TEST(TeardownLimits, LuaFinishHandlerStuckInAPatternMeetsTheHardStop) {
  auto r = exec(std::string("events.on('spell.finish', function() ") + kBacktrack + " end) print('main done')",
                "--timeout 1");
  EXPECT_EQ(r.exit, 3) << r.out;
  EXPECT_TRUE(has(r, "main done")) << r.out;
  EXPECT_TRUE(has(r, "error[limit_exceeded]: time limit of 1s exceeded during teardown (in a spell.finish handler), "
                     "and a built-in call")) << r.out;
}

TEST(TeardownLimits, LuaCatchOfCancelledWorkIsUnderTheLimits) {
  auto looping = exec("sleep_async(30):catch(function() while true do end end) print('main done')", "--timeout 1");
  EXPECT_EQ(looping.exit, 3) << looping.out;
  EXPECT_TRUE(has(looping, "main done")) << looping.out;
  EXPECT_TRUE(has(looping, "error[limit_exceeded]: time limit of 1s exceeded during teardown (in a callback of work "
                           "cancelled when the spell ended")) << looping.out;

  auto stuck = exec(std::string("sleep_async(30):catch(function() ") + kBacktrack + " end)", "--timeout 1");
  EXPECT_EQ(stuck.exit, 3) << stuck.out;
  EXPECT_TRUE(has(stuck, "error[limit_exceeded]: time limit of 1s exceeded during teardown (in a callback of work "
                         "cancelled when the spell ended")) << stuck.out;
  EXPECT_TRUE(has(stuck, "and a built-in call")) << stuck.out;
}

TEST(TeardownLimits, TengoFinishHandlerThatLoopsFailsTheRun) {
  const std::string code =
      "events := import(\"events\"); fmt := import(\"fmt\")\n"
      "events.on(\"spell.finish\", func(e) { for {} })\n"
      "fmt.println(\"main done\")";
  auto timed = exec(code, "--engine tengo --timeout 1");
  EXPECT_EQ(timed.exit, 3) << timed.out;
  EXPECT_TRUE(has(timed, "main done")) << timed.out;
  EXPECT_TRUE(has(timed, "error[limit_exceeded]: time limit of 1s exceeded during teardown (in a spell.finish handler)"))
      << timed.out;

  auto counted = exec(code, "--engine tengo --instruction-limit 1000000");
  EXPECT_EQ(counted.exit, 3) << counted.out;
  EXPECT_TRUE(has(counted, "error[limit_exceeded]: instruction limit of 1000000 exceeded during teardown (in a "
                           "spell.finish handler)")) << counted.out;
}

TEST(TeardownLimits, TengoCatchOfCancelledWorkIsUnderTheLimits) {
  auto r = exec("fmt := import(\"fmt\")\n"
                "p := sleep_async(30)\n"
                "p.catch(func(e) { for {} })\n"
                "fmt.println(\"main done\")",
                "--engine tengo --timeout 1");
  EXPECT_EQ(r.exit, 3) << r.out;
  EXPECT_TRUE(has(r, "main done")) << r.out;
  EXPECT_TRUE(has(r, "error[limit_exceeded]: time limit of 1s exceeded during teardown (in a callback of work "
                     "cancelled when the spell ended")) << r.out;
}

// A spell whose teardown stays inside its limits is not affected.
TEST(TeardownLimits, HandlersWithinTheLimitsStillSucceed) {
  auto lua = exec("events.on('spell.finish', function(e) print('finished', e.data.ok) end)", "--timeout 5");
  EXPECT_EQ(lua.exit, 0) << lua.out;
  EXPECT_TRUE(has(lua, "finished\ttrue")) << lua.out;

  auto tengo = exec("events := import(\"events\"); fmt := import(\"fmt\")\n"
                    "events.on(\"spell.finish\", func(e) { fmt.println(\"finished \", e.data.ok) })",
                    "--engine tengo --timeout 5");
  EXPECT_EQ(tengo.exit, 0) << tengo.out;
  EXPECT_TRUE(has(tengo, "finished true")) << tengo.out;
}

}  // namespace

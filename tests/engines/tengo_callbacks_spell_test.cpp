// Tengo functions the host calls (workflow steps, spawn bodies, tools, handlers) run as tasks
// that can wait, as Lua's do (issue #12, item 4), through the real binary: cancellation by a
// step's timeout reaches the wait, the limits stop a task as they stop the main chunk, waiting
// tasks are charged to the memory limit, a step's model calls count in its usage, and a
// function declared with the wrong number of parameters is told what it is called with. The
// waits themselves in every kind of callback are in tests/conformance/cases/callbacks_wait.
#include <gtest/gtest.h>

#include "support/cli.hpp"

namespace {

using llmspell::test::runCli;
using llmspell::test::shellQuote;

llmspell::test::CliResult tengo(const std::string& code, const std::string& flags = "") {
  return runCli("exec --engine tengo " + flags + " " + shellQuote(code));
}

// A step's timeout cancels the wait its function is in: the wait fails with `cancelled` (an
// error value in Tengo), as does every later wait, and the run reports the timeout.
TEST(TengoCallbacks, AStepTimeoutCancelsTheWaitOfItsFunction) {
  auto r = tengo(R"(
fmt := import("fmt")
workflow := import("workflow")
ch := channel(2)
slow := {name: "slow", timeout: 0.05, run: func(x, ctx) {
  e := sleep(30)
  ch.send(is_error(e) ? e.value.code : "slept")
  e = sleep(0)
  ch.send(is_error(e) ? e.value.code : "slept")
  return "done"
}}
r := workflow.sequential({steps: [slow]}).run("x")
fmt.println(r.status, " ", r["error"].code, " ", r.steps[0].status)
fmt.println("the wait: ", ch.recv(), ", a later wait: ", ch.recv())
)");
  ASSERT_EQ(r.exit, 0) << r.err << r.out;
  EXPECT_EQ(r.out, "failed timeout failed\nthe wait: cancelled, a later wait: cancelled\n");
}

// A task that loops after a wait is stopped by the time and instruction limits, uncatchably,
// as the main chunk is.
TEST(TengoCallbacks, ATaskThatLoopsAfterWaitingIsStoppedByTheLimits) {
  auto r = tengo(R"(
fmt := import("fmt")
workflow := import("workflow")
r := workflow.sequential({steps: [func(x, ctx) {
  if is_error(sleep(0.01)) { return "could not wait" }
  for {}
}]}).run(1)
fmt.println(r)
)", "--timeout 0.5");
  EXPECT_EQ(r.exit, 3) << r.out;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "error[limit_exceeded]: time limit of 0.5s exceeded\n");

  r = tengo(R"(
fmt := import("fmt")
p := spawn(func() {
  if is_error(sleep(0.01)) { return "could not wait" }
  for {}
})
fmt.println(await(p))
)", "--instruction-limit 100000");
  EXPECT_EQ(r.exit, 3) << r.out;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "error[limit_exceeded]: instruction limit of 100000 exceeded\n");

  // The instructions of handlers run from inside the main chunk's call count in its budget.
  r = tengo(R"(
fmt := import("fmt")
events := import("events")
n := 0
events.on("x", func(e) { for i := 0; i < 1000; i++ { n += 1 } })
for j := 0; j < 1000; j++ { events.emit("x", j) }
fmt.println(n)
)", "--instruction-limit 100000");
  EXPECT_EQ(r.exit, 3) << r.out;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "error[limit_exceeded]: instruction limit of 100000 exceeded\n");
}

// Each waiting task holds a stack of its own, charged to the memory limit: spawning waiters
// without end is stopped like any other growth.
TEST(TengoCallbacks, WaitingTasksCountInTheMemoryLimit) {
  auto r = tengo(R"(
fmt := import("fmt")
ps := []
for i := 0; i < 5000; i++ { ps = append(ps, spawn(func() { sleep(0.5); return 1 })) }
fmt.println(len(ps))
)", "--memory-limit 32");
  EXPECT_EQ(r.exit, 3) << r.out;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "error[limit_exceeded]: memory limit of 32 MiB exceeded\n");
}

// The spell runs until its tasks end: a spawned function still waiting when the main chunk ends
// finishes its work.
TEST(TengoCallbacks, TheSpellWaitsForItsTasks) {
  auto r = tengo(R"(
fmt := import("fmt")
spawn(func(what) { sleep(0.02); fmt.println(what, " after the main chunk") }, "a task")
fmt.println("main chunk done")
)");
  ASSERT_EQ(r.exit, 0) << r.err << r.out;
  EXPECT_EQ(r.out, "main chunk done\na task after the main chunk\n");
}

// As WorkflowSpellTest.UsageCountsModelCallsMadeInsideSteps, in Tengo: a step function's model
// calls (before and after it waits, and in what it spawns) count in its record and the run's
// usage; two parallel steps whose waits interleave each count only their own calls. Each reply
// reports a different power of two of input tokens, so a sum names exactly the calls in it.
TEST(TengoCallbacks, AStepsModelCallsCountInItsUsage) {
  auto r = tengo(R"(
fmt := import("fmt")
llm := import("llm")
workflow := import("workflow")
replies := []
for i := 0; i < 7; i++ { replies = append(replies, {text: "r" + string(i), usage: {input_tokens: 1 << i, output_tokens: 1}}) }
llm.configure("mock", {replies: replies})
m := {model: "mock/script"}
w := workflow.sequential({name: "w", steps: [
  {name: "direct", run: func(x, ctx) {
    a := llm.chat("q1", m).text
    sleep(0.01)
    return a + llm.chat("q2", m).text
  }},
  {name: "spawned", run: func(x, ctx) { return await(spawn(func() { return llm.chat("q3", m).text })) }},
  {name: "no_calls", run: func(x, ctx) { return x }}
]})
r := w.run("go")
fmt.println(r.status, " ", r.output, " ", r.usage.input_tokens, " ", r.usage.output_tokens)
for _, s in r.steps { fmt.println(s.name, " ", s.usage ? s.usage.input_tokens : "none") }
slow := func(name, pause) {
  return {name: name, run: func(x, ctx) {
    a := llm.chat(name, m).usage.input_tokens
    sleep(pause)
    return a + llm.chat(name, m).usage.input_tokens
  }}
}
p := workflow.parallel({steps: [slow("a", 0.03), slow("b", 0.01)]}).run(0)
fmt.println(p.status, " ", p.usage.input_tokens, " ", p.steps[0].usage.input_tokens == p.steps[0].output, " ",
            p.steps[1].usage.input_tokens == p.steps[1].output)
)");
  ASSERT_EQ(r.exit, 0) << r.err << r.out;
  EXPECT_EQ(r.out,
            "completed r2 7 3\n"
            "direct 3\n"
            "spawned 4\n"
            "no_calls none\n"
            "completed 120 true true\n");
}

// A Tengo function takes exactly its declared parameters: one the host calls with another
// number is told which function it is, where, and what it is called with.
TEST(TengoCallbacks, AFunctionWithTheWrongParametersIsToldWhatItIsCalledWith) {
  auto r = tengo(R"tg(
fmt := import("fmt")
tools := import("tools")
workflow := import("workflow")
tools.define({name: "t", description: "d", parameters: {type: "object"},
  run: func(args) { return "x" }})
e := tools.call("t", {})
fmt.println(e.value.code, ": ", e.value.message, " (line ", e.value.line, ")")
r := workflow.sequential({steps: [func(x) { return x }]}).run(1)
fmt.println(r.steps[0]["error"].message)
fmt.println(await(spawn(func(a, b) { return a }, 1))["value"].message)
)tg");
  ASSERT_EQ(r.exit, 0) << r.err << r.out;
  EXPECT_EQ(r.out,
            "script_error: the 'run' function given to tools.define takes 1 argument but is called with 2: "
            "declare it with 2 parameters (wrong number of arguments: want=1, got=2) (line 6)\n"
            "the function given to workflow.sequential takes 1 argument but is called with 2: declare it "
            "with 2 parameters (wrong number of arguments: want=1, got=2)\n"
            "the function given to spawn takes 2 arguments but is called with 1: declare it with 1 "
            "parameter (wrong number of arguments: want=2, got=1)\n");
}

// In the REPL each line is compiled on its own: a handler defined on an earlier line is refused
// with a clear error when the host calls it (it used to run on a VM that no longer held its
// code).
TEST(TengoCallbacks, AHandlerFromAnEarlierReplLineIsRefusedClearly) {
  auto r = runCli("repl -e tengo",
                  "events := import(\"events\"); fmt := import(\"fmt\"); events.on(\"x\", func(e) { fmt.println(e.data) })\n"
                  "events.emit(\"x\", 1)\n",
                  true);
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_NE(r.out.find("error=invalid_argument: this function was defined on an earlier REPL line; in the Tengo "
                       "REPL functions do not carry over between lines"),
            std::string::npos)
      << r.out;
}

}  // namespace

// Spell-level tests of the workflow namespace: Lua snippets run through the real `llmspell`
// binary (`llmspell exec`), with LLMSPELL_HOME pointing at a fresh directory.
#include <gtest/gtest.h>

#include "support/cli.hpp"
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

namespace {

using llmspell::test::shellQuote;

namespace fs = std::filesystem;

class WorkflowSpellTest : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = fs::temp_directory_path() /
            ("llmspell_workflow_spell_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(home_);
    fs::create_directories(home_);
  }
  void TearDown() override { fs::remove_all(home_); }

  // Runs a snippet (stderr merged); sets `status` to the exit code.
  std::string exec(const std::string& code, int* status = nullptr) const {
    std::string cmd = "LLMSPELL_HOME=" + shellQuote(home_.string()) + " " + LLMSPELL_BIN + " exec " +
                      shellQuote(code) + " 2>&1";
    auto r = llmspell::test::runShell(cmd);
    if (status) *status = r.exit;
    return r.out;
  }
  fs::path home_;
};

TEST_F(WorkflowSpellTest, SequentialFunctionAndTableSteps) {
  EXPECT_EQ(exec(R"(
local w = workflow.sequential{name = "s", steps = {
  function(x, ctx) return x + 1 end,
  {name = "double", run = function(x, ctx) return x * 2 end},
  function(x, ctx) return ctx.workflow .. "/" .. ctx.step .. "/" .. ctx.attempt .. ":" .. x end,
}}
local r = w:run(1)
print(r.status, r.output)
for _, s in ipairs(r.steps) do print(s.name, s.status, s.output) end
print(w:name(), type(r.duration_ms), r.cost_usd)
)"),
            "completed\ts/step3/1:4\n"
            "step1\tcompleted\t2\n"
            "double\tcompleted\t4\n"
            "step3\tcompleted\ts/step3/1:4\n"
            "s\tnumber\t0.0\n");
}

TEST_F(WorkflowSpellTest, ParallelRunsScriptStepsConcurrentlyWithinTheBound) {
  // Each step sleeps; the maximum number of steps inside their sleep at once is the bound.
  EXPECT_EQ(exec(R"(
local inflight, max = 0, 0
local function step(x)
  inflight = inflight + 1
  if inflight > max then max = inflight end
  sleep(0.02)
  inflight = inflight - 1
  return x
end
local steps = {}
for i = 1, 8 do steps[i] = {name = "s" .. i, run = function(x) return step(x * i) end} end
local r = workflow.parallel{steps = steps, max_concurrency = 3}:run(1)
print(r.status, max, table.concat(r.output, ","))
max = 0
r = workflow.parallel{steps = steps, merge = "object"}:run(2)
print(max, r.output.s3, r.output.s8)
r = workflow.parallel{steps = steps, merge = function(recs, input)
  local sum = 0
  for _, rec in ipairs(recs) do sum = sum + rec.output end
  return sum + input
end}:run(1)
print(r.output)
)"),
            "completed\t3\t1,2,3,4,5,6,7,8\n"
            "8\t6\t16\n"
            "37\n");
}

TEST_F(WorkflowSpellTest, OnErrorPoliciesAndRetry) {
  EXPECT_EQ(exec(R"(
local tries = 0
local flaky = {name = "flaky", run = function(x, ctx)
  tries = tries + 1
  if ctx.attempt < 3 then error(errors.new("rate_limited", "busy")) end
  return x .. "!"
end, on_error = {retry = 2, backoff = 0.001}}
local bad = {name = "bad", run = function() error("broken") end}
local r = workflow.sequential{steps = {flaky}}:run("ok")
print(r.status, r.output, tries, r.steps[1].attempts)
r = workflow.sequential{steps = {function(x) return x end, bad, function(x) return x .. "?" end}}:run("a")
print(r.status, r.output, #r.steps, r.error.code, r.error.message)
r = workflow.sequential{on_error = "continue", steps = {bad, function(x) return x .. "?" end}}:run("a")
print(r.status, r.output, r.steps[1].status, r.steps[1].error.message)
local ok, e = pcall(workflow.sequential, {steps = {}, on_error = "sometimes"})
print(ok, e.code, e.message)
)"),
            "completed\tok!\t3\t3\n"
            "failed\tnil\t2\tscript_error\tstep 'bad' failed: broken\n"
            "completed\ta?\tfailed\tbroken\n"
            "false\tinvalid_argument\tworkflow 'sequential': on_error must be \"fail\", "
            "\"continue\" or {retry = n, backoff = seconds}, got \"sometimes\"\n");
}

TEST_F(WorkflowSpellTest, CancellationStopsStepsInFlight) {
  // Tool steps (the built-in `sleep` tool) wait on host timers: cancelling the run cancels them,
  // so the spell ends at once instead of after 30 s. The Lua function step's record is
  // cancelled too.
  EXPECT_EQ(exec(R"(
local finished = {}
events.on("workflow.finish", function(e) finished[#finished + 1] = e.data.workflow .. "=" .. e.data.status end)
local started = time.now()
local w = workflow.parallel{name = "p", steps = {
  {tool = "sleep", args = {seconds = 30}},
  workflow.sequential{name = "inner", steps = {{name = "nap", tool = "sleep", args = {seconds = 30}}}},
  {name = "fn", run = function(x) sleep(0.2); return x end},
}}
local p = w:run_async("x")
sleep(0.05)
print(w:cancel())
local r = await(p)
print(r.status)
for _, s in ipairs(r.steps) do print(s.name, s.status, s.error.code) end
print(r.steps[2].steps[1].name, r.steps[2].steps[1].status)
-- A timeout cancels the run's promise: the call fails with `timeout`.
local ok, e = pcall(function() return w:run("x", {timeout = 0.05}) end)
print(ok, e.code)
sleep(0)
table.sort(finished)
print(table.concat(finished, " "))
print(time.since(started) < 10)
)"),
            "1\n"
            "cancelled\n"
            "sleep\tcancelled\tcancelled\n"
            "inner\tcancelled\tcancelled\n"
            "fn\tcancelled\tcancelled\n"
            "nap\tcancelled\n"
            "false\ttimeout\n"
            "inner=cancelled inner=cancelled p=cancelled p=cancelled\n"
            "true\n");
}

TEST_F(WorkflowSpellTest, ToolSteps) {
  EXPECT_EQ(exec(R"(
local w = workflow.sequential{name = "calc", steps = {
  {name = "add", tool = "calculator", args = {expression = "2 + 3"}},
  function(r) return {seconds = 0} end,
  "sleep",
}}
local r = w:run()
print(r.status, r.steps[1].output.result or r.steps[1].output, json.encode(r.output))
print(w:to_json())
local ok, e = pcall(function() return workflow.sequential{steps = {"no_such_tool"}}:run({}) end)
r = e
print(r.status, r.error.code)
)"),
            "completed\t5\t{\"slept\":0.0}\n"
            "{\"type\":\"sequential\",\"name\":\"calc\",\"on_error\":\"fail\",\"steps\":[{\"name\":\"add\","
            "\"kind\":\"tool\",\"tool\":\"calculator\",\"args\":{\"expression\":\"2 + 3\"}},{\"name\":"
            "\"step2\",\"kind\":\"function\"},{\"name\":\"sleep\",\"kind\":\"tool\",\"tool\":\"sleep\"}]}\n"
            "failed\tnot_found\n");
}

TEST_F(WorkflowSpellTest, AgentSteps) {
  // An agent handle is a step: its answer text is the output, its tokens count in the usage.
  // Declarative steps find agents by name when they run.
  EXPECT_EQ(exec(R"(
llm.configure("mock", {replies = {
  {text = "first answer", usage = {input_tokens = 10, output_tokens = 2}},
  {text = "second answer", usage = {input_tokens = 20, output_tokens = 3}},
}})
local a = agent.create{name = "helper", model = "mock/script"}
local w = workflow.sequential{name = "ask", steps = {function(x) return "question: " .. x end, a}}
local r = w:run("why")
print(r.status, r.output, r.steps[2].name, r.usage.input_tokens, r.usage.output_tokens)
print(w:to_json())
local d = workflow.from_json([[{"type": "sequential", "steps": [{"agent": "helper"}, {"agent": "nobody"}]}]])
r = d:run("again")
print(r.status, r.steps[1].output, r.steps[2].status, r.error.code, r.error.message)
)"),
            "completed\tfirst answer\thelper\t10\t2\n"
            "{\"type\":\"sequential\",\"name\":\"ask\",\"on_error\":\"fail\",\"steps\":[{\"name\":\"step1\","
            "\"kind\":\"function\"},{\"name\":\"helper\",\"kind\":\"agent\",\"agent\":\"helper\"}]}\n"
            "failed\tsecond answer\tfailed\tnot_found\tstep 'nobody' failed: no agent named 'nobody'\n");
}

TEST_F(WorkflowSpellTest, UsageCountsModelCallsMadeInsideSteps) {
  // A step's model calls count in its record and the workflow's usage whatever the step returns:
  // calls in a step function (also after it waited, and in what it spawns), an agent run inside
  // a function, a script tool's own call, a nested workflow run from a function. Each reply
  // reports a different power of two of input tokens, so a sum names exactly the calls in it.
  // Two parallel steps whose waits interleave each count only their own calls.
  EXPECT_EQ(exec(R"(
local replies = {}
for i = 0, 11 do replies[#replies + 1] = {text = "r" .. i, usage = {input_tokens = 2 ^ i, output_tokens = 1}} end
llm.configure("mock", {replies = replies})
local m = {model = "mock/script"}
local helper = agent.create{name = "helper", model = "mock/script"}
tools.define{name = "asker", description = "asks the model", parameters = {type = "object"},
  run = function(args) return llm.chat("tool question", m).text end}
local w = workflow.sequential{name = "w", steps = {
  {name = "direct", run = function(x)
    local a = llm.chat("q1", m).text   -- 1
    sleep(0.01)
    return a .. llm.chat("q2", m).text -- 2
  end},
  {name = "spawned", run = function(x)
    return await(spawn(function() return llm.chat("q3", m).text end)) -- 4
  end},
  {name = "agent_in_fn", run = function(x) return helper:run("hi").text end}, -- 8
  {name = "tool", tool = "asker"}, -- 16
  {name = "nested", run = function(x)
    local inner = workflow.sequential{steps = {
      function(y) return llm.chat("n1", m).text end, -- 32
      function(y) return llm.chat("n2", m).text end, -- 64
    }}
    return inner:run(x).output
  end},
  {name = "no_calls", run = function(x) return x end},
}}
local r = w:run("go")
print(r.status, r.usage.input_tokens, r.usage.output_tokens)
for _, s in ipairs(r.steps) do print(s.name, s.usage and s.usage.input_tokens, s.cost_usd) end
local function slow(name, pause)
  return {name = name, run = function(x)
    local a = llm.chat(name, m).usage.input_tokens
    sleep(pause)
    return a + llm.chat(name, m).usage.input_tokens
  end}
end
local p = workflow.parallel{steps = {slow("a", 0.03), slow("b", 0.01)}}:run(0)
print(p.status, p.usage.input_tokens, p.steps[1].usage.input_tokens == p.steps[1].output,
      p.steps[2].usage.input_tokens == p.steps[2].output)
)"),
            "completed\t127\t7\n"
            "direct\t3\t0.0\n"
            "spawned\t4\t0.0\n"
            "agent_in_fn\t8\t0.0\n"
            "tool\t16\t0.0\n"
            "nested\t96\t0.0\n"
            "no_calls\tnil\tnil\n"
            "completed\t1920\ttrue\ttrue\n");
}

TEST_F(WorkflowSpellTest, ConditionalLoopAndMap) {
  EXPECT_EQ(exec(R"(
local c = workflow.conditional{branches = {
  {when = function(x) return x.kind == "q" end, step = function(x) return "question" end},
  {when = {path = "kind", equals = "s"}, step = function(x) return "statement" end},
}, otherwise = function(x) return "other" end}
print(c:run({kind = "q"}).output, c:run({kind = "s"}).output, c:run({kind = "z"}).output)
local l = workflow.loop{step = function(x) return x * 2 end, until_ = function(x, i) return x > 50 end}
local r = l:run(1)
print(r.output, #r.steps)
r = workflow.loop{step = function(x) return x + 1 end, ["while"] = function(x) return true end, max_iterations = 4}:run(0)
print(r.status, r.error.code, #r.steps)
r = workflow.loop{step = function(x, ctx) return x .. ctx.index end, items = {"a", "b"}}:run()
print(table.concat(r.output, ","))
r = workflow.map{step = function(x) sleep(0.01); return x * x end, concurrency = 2}:run({1, 2, 3, 4})
print(table.concat(r.output, ","), r.steps[4].index)
)"),
            "question\tstatement\tother\n"
            "64\t6\n"
            "failed\tlimit_exceeded\t4\n"
            "a1,b2\n"
            "1,4,9,16\t4\n");
}

TEST_F(WorkflowSpellTest, HooksAndEventsSeeEveryStep) {
  EXPECT_EQ(exec(R"(
local seen = {}
events.on("workflow.step", function(e) seen[#seen + 1] = e.data.step .. ":" .. e.data.status end)
hooks.before("workflow.step", function(ctx)
  ctx.args.input = ctx.args.input .. "<" .. ctx.args.step .. ">"
  return ctx
end)
hooks.around("workflow.step", function(ctx, next)
  if ctx.args.step == "cached" then return "from cache" end
  return next()
end)
local r = workflow.sequential{steps = {{name = "a", run = function(x) return x end},
                                       {name = "cached", run = function(x) return "computed" end}}}:run("in")
print(r.output, r.steps[1].output)
sleep(0)
print(table.concat(seen, " "))
)"),
            "from cache\tin<a>\n"
            "a:completed cached:completed\n");
}

TEST_F(WorkflowSpellTest, DeclarativeWorkflows) {
  EXPECT_EQ(exec(R"(
workflow.sequential{name = "shout", steps = {function(x) return string.upper(x) end}}
workflow.sequential{name = "exclaim", steps = {function(x) return x .. "!" end}}
local w = workflow.from_json([[{"type": "sequential", "name": "pipeline",
  "steps": ["shout", {"workflow": "exclaim"},
            {"type": "parallel", "name": "fan", "merge": "object", "steps": ["shout", "exclaim"]}]}]])
local r = w:run("hi")
print(r.status, r.output.shout, r.output.exclaim)
print(table.concat(workflow.list(), ","), workflow.get("pipeline"):name(), workflow.get("nope"))
local y = workflow.from_yaml("type: loop\nname: twice\ntimes: 2\nstep: exclaim\n")
print(y:run("a").output)
print(workflow.from_json(w:to_json()):to_json() == w:to_json())
local local_fn = workflow.sequential{name = "local", steps = {{name = "f", run = function(x) return x end}}}
print(local_fn:to_json())
local ok, e = pcall(workflow.from_json, local_fn:to_json())
print(ok, e.code, e.message)
ok, e = pcall(workflow.from_json, '{"type": "sequential", "steps": [{"workflow": "missing"}]}')
print(ok)
r = e:run("x")
print(r.status, r.error.code, r.error.message)
-- A workflow that runs itself stops at the nesting limit instead of exhausting the stack.
r = workflow.from_json('{"type": "sequential", "name": "again", "steps": ["again"]}'):run("x")
print(r.status, r.error.code)
)"),
            "completed\tHI!\tHI!!\n"
            "exclaim,pipeline,shout\tpipeline\tnil\n"
            "a!!\n"
            "true\n"
            "{\"type\":\"sequential\",\"name\":\"local\",\"on_error\":\"fail\",\"steps\":[{\"name\":\"f\","
            "\"kind\":\"function\"}]}\n"
            "false\tinvalid_argument\tworkflow 'local': step 1: step 'f' is a function step, which "
            "to_json cannot carry: define a tool or register a workflow with that name and refer to "
            "it by name ({tool = \"...\"} or {workflow = \"...\"})\n"
            "true\n"
            "failed\tnot_found\tstep 'missing' failed: no workflow named 'missing' in this run\n"
            "failed\tlimit_exceeded\n");
}

TEST_F(WorkflowSpellTest, BadStepsAreClearErrors) {
  EXPECT_EQ(exec(R"(
local function try(f, ...) local ok, e = pcall(f, ...); print(e.code, e.message) end
try(workflow.sequential, {steps = {42}})
try(workflow.parallel, {steps = {}, merge = "sum"})
try(workflow.loop, {step = function(x) return x end})
try(workflow.map, {})
try(workflow.sequential, {steps = {}, colour = "red"})
try(workflow.from_json, "{")
try(workflow.from_json, '{"type": "pipeline"}')
)"),
            "invalid_argument\tworkflow 'sequential': step 1: a step is a function, a tool name, an "
            "agent, a workflow or a table {name, run}, got integer 42\n"
            "invalid_argument\tworkflow 'parallel': merge must be \"list\", \"object\" or a function, got \"sum\"\n"
            "invalid_argument\tworkflow 'loop': loop needs one of times, items, while or until\n"
            "invalid_argument\tworkflow 'map': step is missing\n"
            "invalid_argument\tworkflow 'sequential': unknown field 'colour' for a sequential workflow\n"
            "invalid_argument\tinvalid JSON at line 1, column 2: syntax error while parsing object "
            "key - unexpected end of input; expected string literal\n"
            "invalid_argument\tworkflow: type must be \"sequential\", \"parallel\", \"conditional\", "
            "\"loop\" or \"map\", got string \"pipeline\"\n");
}

}  // namespace

// Agent loop overhead, model latency excluded: the chat function answers at once (a settled
// promise), so what is measured is the loop itself: building the request's messages and tool
// specs, reading the reply, validating and running three tools concurrently through the tool
// registry (hooks, events, approval checks), and appending the results.
//
//   BM_AgentIteration      one run = `iters` model turns, each asking for 3 tool calls, then an
//                          answer; reported per iteration (a turn with its 3 tool calls).
//   BM_ToolCallsOnly       baseline: the same 3 registry tool calls per turn, no agent.
#include <benchmark/benchmark.h>

#include "llmspell/agent/agent.hpp"
#include "llmspell/core/convert.hpp"

using namespace llmspell;

namespace {

Value call(std::string id, std::string name, Value args) {
  return Value::object({{"id", std::move(id)}, {"name", std::move(name)}, {"arguments", std::move(args)}});
}

Value reply(std::string text, Value calls) {
  Value msg = Value::object({{"role", "assistant"}, {"content", text}});
  if (!calls.asArray().empty()) msg.asObject().set("tool_calls", calls);
  return Value::object({{"text", text}, {"message", msg}, {"tool_calls", calls},
                        {"usage", Value::object({{"input_tokens", 50}, {"output_tokens", 10}, {"total_tokens", 60}})},
                        {"cost_usd", 0.0001}, {"model", "bench/model"}});
}

struct World {
  Loop loop;
  Permissions perms;
  EventBus bus;
  HookRegistry hooks;
  tools::ToolRegistry reg{loop, perms, &hooks, &bus};
  Value toolTurn, answer;

  World() {
    const char* schema = R"({"type":"object","properties":{"a":{"type":"number"},"b":{"type":"number"}},"required":["a","b"]})";
    for (const char* name : {"add", "mul", "sub"}) {
      tools::Tool t;
      t.name = name;
      t.description = std::string("arithmetic: ") + name;
      t.parameters = parseJson(schema);
      std::string n = name;
      t.run = [n](const Value& a, tools::ToolEnv&) {
        double x = a.getNumber("a"), y = a.getNumber("b");
        return Promise::resolved(Value(n == "add" ? x + y : n == "mul" ? x * y : x - y));
      };
      reg.define(t);
    }
    toolTurn = reply("", Value::array({call("c1", "add", Value::object({{"a", 1}, {"b", 2}})),
                                      call("c2", "mul", Value::object({{"a", 3}, {"b", 4}})),
                                      call("c3", "sub", Value::object({{"a", 5}, {"b", 6}}))}));
    answer = reply("done", Value::array());
  }
};

void BM_AgentIteration(benchmark::State& state) {
  World w;
  const int iters = static_cast<int>(state.range(0));
  int turn = 0;
  agent::ChatFn chat = [&](const Value&, const Value&, std::function<void(const llm::StreamChunk&)>) {
    // Fresh arguments every turn, so the repeated-call detector does not stop the run.
    if (++turn % (iters + 1) == 0) return Promise::resolved(w.answer);
    Value r = w.toolTurn.deepCopy();
    for (auto& c : r.get("tool_calls").asArray()) c.get("arguments").asObject().set("a", int64_t{turn});
    r.get("message").asObject().set("tool_calls", r.get("tool_calls"));
    return Promise::resolved(r);
  };
  agent::AgentConfig cfg;
  cfg.name = "bench";
  cfg.system = "You are a calculator.";
  cfg.tools = {"add", "mul", "sub"};
  cfg.maxIterations = iters + 1;
  cfg.memory = "none";
  auto a = std::make_shared<agent::Agent>(cfg, w.reg, chat, &w.hooks, &w.bus);
  for (auto _ : state) {
    turn = 0;
    PromisePtr p = a->run(Value("compute"));
    w.loop.runUntil([&] { return !p->pending(); });
    if (!p->fulfilled() || p->value().getInt("iterations") != iters + 1) state.SkipWithError("run failed");
  }
  state.SetItemsProcessed(state.iterations() * iters);
  state.counters["us_per_iteration"] = benchmark::Counter(static_cast<double>(state.iterations() * iters),
                                                          benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_AgentIteration)->Arg(10)->Unit(benchmark::kMicrosecond)->MeasureProcessCPUTime();

void BM_ToolCallsOnly(benchmark::State& state) {
  World w;
  const int iters = static_cast<int>(state.range(0));
  for (auto _ : state) {
    for (int i = 0; i < iters; ++i) {
      for (const auto& c : w.toolTurn.get("tool_calls").asArray()) {
        PromisePtr p = w.reg.call(c.getString("name"), c.get("arguments"));
        w.loop.runUntil([&] { return !p->pending(); });
        benchmark::DoNotOptimize(p->value());
      }
    }
  }
  state.SetItemsProcessed(state.iterations() * iters);
  state.counters["us_per_iteration"] = benchmark::Counter(static_cast<double>(state.iterations() * iters),
                                                          benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_ToolCallsOnly)->Arg(10)->Unit(benchmark::kMicrosecond)->MeasureProcessCPUTime();

}  // namespace

BENCHMARK_MAIN();

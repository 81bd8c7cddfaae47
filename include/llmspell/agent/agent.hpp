// Agents: a model, a system prompt and a set of tools, run as a tool loop. One run is
//   model -> tool calls (all of one turn concurrently) -> tool results -> model -> ...
// until the model answers without calling a tool, `max_iterations` is reached, the model repeats
// an identical call too often, or the budget (tokens, cost, seconds) is spent. Tool failures go
// back to the model as tool results marked as errors, so it can recover.
//
// Usage (on the loop thread):
//   agent::AgentConfig cfg; cfg.name = "helper"; cfg.model = "mock/script"; cfg.tools = {"calculator"};
//   auto a = std::make_shared<agent::Agent>(cfg, toolRegistry, chatFn, &hooks, &bus);
//   a->run(Value("what is 2+3?"), {}, nullptr)->onSettle(...);  // resolves with runResult
//
// The chat function is injected so an embedding program (or the bridge) decides how a model is
// reached; the bridge passes llmChat, which applies the llm.call hooks, the run budget, events and
// the call log.
//
// Thread-safety: loop-affine, like the tool registry and promises it uses.
// Failure: run() never throws. It rejects with budget_exceeded when the budget is spent,
// validation_failed when output_schema cannot be met, cancelled when cancelled, or the model
// call's error. Ending on max_iterations or on a repeated call resolves, with `status` saying so.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmspell/core/value.hpp"
#include "llmspell/events/bus.hpp"
#include "llmspell/hooks/hooks.hpp"
#include "llmspell/llm/types.hpp"
#include "llmspell/runtime/promise.hpp"
#include "llmspell/tools/tools.hpp"

namespace llmspell::agent {

// One model call: `messages` is an array of message tables, `opts` llm.chat's options (model,
// tools, temperature...). Resolves with llm.chat's result table ({text, message, tool_calls,
// usage, cost_usd, ...}). Streams through `onChunk` when it is set.
using ChatFn = std::function<PromisePtr(const Value& messages, const Value& opts,
                                        std::function<void(const llm::StreamChunk&)> onChunk)>;

struct Budget {
  int64_t maxTokens = 0;     // 0 = unlimited; total tokens over the run's model calls
  double maxCostUsd = 0;     // 0 = unlimited
  double maxSeconds = 0;     // 0 = unlimited; wall time of the run
};

struct AgentConfig {
  std::string name;
  std::string model;             // "" = the run's default model
  std::string system;
  std::vector<std::string> tools;  // names in the tool registry
  int maxIterations = 10;        // model calls per run
  int maxRepeats = 2;            // an identical call (name + arguments) seen more often ends the run
  std::optional<double> temperature;
  std::string memory = "session";  // "none" | "session" | "persistent" (kept by the caller)
  Value outputSchema;            // JSON Schema of the final answer, or null
  Budget budget;
  Value llmOptions = Value::object();  // other llm.chat options (max_tokens, seed, ...)
  Value description;             // for as_tool / list
  // {[point] = {before = fn, after = fn, around = fn}}: hooks of this agent only, kept as given;
  // the caller (the bridge) validates them and builds the agent's HookRegistry.
  Value hooks;
};

// Reads {name, model, system, max_iterations, max_repeats, temperature, memory, output_schema,
// budget = {max_tokens, max_cost_usd, max_seconds}, description, options, hooks}; `tools` is left to the
// caller (tool names must be resolved against a registry). Throws invalid_argument naming the
// field.
AgentConfig configFromValue(const Value& v);
// The fields configFromValue accepts (the registry declares them, so `llmspell check` knows them).
const std::vector<std::string_view>& configFields();
Value configToValue(const AgentConfig& c);

// What a run reports as it goes (a:stream): {type = "text", text} | {type = "reasoning", text} |
// {type = "tool_call", id, name, arguments} | {type = "tool_result", id, name, ok, result | error}
// | {type = "iteration", n} ; called on the loop thread, in order.
using EventFn = std::function<void(const Value& event)>;

// Runs `f` as if the code that started the run were running (the bridge: in its usage scope,
// so a workflow step's usage includes the agents it runs). An agent's loop continues in host
// callbacks, so it calls out through this: its model calls and its tool calls.
using Within = std::function<PromisePtr(const std::function<PromisePtr()>& f)>;

class Agent : public HostObject, public std::enable_shared_from_this<Agent> {
 public:
  Agent(AgentConfig cfg, tools::ToolRegistry& tools, ChatFn chat, HookRegistry* hooks = nullptr,
        EventBus* bus = nullptr);
  std::string_view typeName() const override { return "agent"; }

  // One run (see the file comment). `input` is a string or a message table. `opts` may override
  // model, max_iterations, budget, temperature for this run. Resolves with {text, output,
  // status ("completed" | "max_iterations" | "repeated_tool_call"), messages, tool_calls =
  // {{id, name, arguments, ok, result | error, duration_ms}}, iterations, usage, cost_usd,
  // duration_ms, agent}; a run stopped by a guard also has error = {code = "limit_exceeded",
  // message}. Cancelling the promise cancels the model call or tools in flight. Runs of an agent
  // with memory ("session", "persistent") take turns: one started while another is going waits
  // for it, so each sees the whole conversation; runs without memory go at once.
  PromisePtr run(Value input, Value opts = {}, EventFn onEvent = nullptr, Within within = nullptr);

  const AgentConfig& config() const { return cfg_; }
  // The agent's own hooks (its config's, and what guard.protect adds); null when it has none.
  HookRegistry* hookRegistry() const { return hooks_; }
  AgentConfig& mutableConfig() { return cfg_; }
  tools::ToolRegistry& toolRegistry() { return tools_; }
  const ChatFn& chatFn() const { return chat_; }

  // Conversation memory: the user / assistant / tool messages of earlier runs (none when memory
  // is "none"); the system prompt is not stored.
  const Value& history() const { return history_; }
  void setHistory(Value h) { history_ = std::move(h); }
  void reset() { history_ = Value::array(); }
  // Free-form agent state (a:get / a:set).
  Value get(const std::string& key) const;
  void set(const std::string& key, Value v);

  // Tool names: add verifies the registry knows the tool (throws not_found).
  void addTool(const std::string& name);
  bool removeTool(const std::string& name);

  // Runs / iterations made over the agent's life (for tests and metrics).
  uint64_t runs() const { return runs_; }

 private:
  struct RunState;
  void step(const std::shared_ptr<RunState>& st);
  // `why` (empty for "completed") is the guard that stopped the run, as result.error.
  void finish(const std::shared_ptr<RunState>& st, const std::string& status, const std::string& why = "");
  void afterModel(const std::shared_ptr<RunState>& st, const Value& reply);
  PromisePtr runInner(Value input, Value opts, EventFn onEvent, Within within);  // waits its turn on the memory
  PromisePtr startRun(Value input, Value opts, EventFn onEvent, Within within);
  void nextOnMemory();

  AgentConfig cfg_;
  tools::ToolRegistry& tools_;
  ChatFn chat_;
  HookRegistry* hooks_;
  EventBus* bus_;
  Value history_ = Value::array();
  Value data_ = Value::object();
  uint64_t runs_ = 0;
  // Runs on the memory (see runInner): one at a time, the others waiting in order.
  bool memoryBusy_ = false;
  std::deque<std::function<void()>> memoryQueue_;
};
using AgentPtr = std::shared_ptr<Agent>;

}  // namespace llmspell::agent

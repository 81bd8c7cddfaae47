// `agent` namespace: agent.create and the agent object (run, stream, tools, memory, clone,
// as_tool), the per-run agent registry, delegation and collaboration. The tool loop itself is
// the agent layer's (include/llmspell/agent/agent.hpp); this module adapts it: model calls go
// through llmChat (hooks, budget, events, call log), tools through the run's tool registry, and
// persistent memory through the registry's state functions.
#include <map>

#include "bridge/schema_shape.hpp"
#include "bridge/modules/llm_service.hpp"
#include "bridge/modules/script_hooks.hpp"
#include "llmspell/agent/agent.hpp"
#include "llmspell/core/convert.hpp"
#include "llmspell/events/bus.hpp"
#include "llmspell/hooks/hooks.hpp"
#include "llmspell/observe/trace.hpp"
#include "llmspell/tools/tools.hpp"

namespace llmspell {

namespace {

using agent::Agent;
using agent::AgentPtr;

// The agents of one run, by name.
struct AgentRun {
  std::map<std::string, AgentPtr> byName;
  int unnamed = 0;
};

AgentRun& agentsOf(RunContext& run) {
  return run.service<AgentRun>([] { return std::make_shared<AgentRun>(); });
}

AgentPtr agentOf(const Value& v, std::string_view fname) {
  if (v.isHandle()) {
    if (auto a = std::dynamic_pointer_cast<Agent>(v.asHandle())) return a;
  }
  fail(codes::kInvalidArgument, std::string(fname) + ": expected an agent, got " + v.describe());
}

// Resolves a name or handle to an agent of this run.
AgentPtr findAgent(RunContext& run, const Value& v, std::string_view fname) {
  if (v.isString()) {
    auto& ar = agentsOf(run);
    auto it = ar.byName.find(v.asString());
    if (it == ar.byName.end()) fail(codes::kNotFound, std::string(fname) + ": no agent named '" + v.asString() + "'");
    return it->second;
  }
  return agentOf(v, fname);
}

// Model calls of an agent go through llmChat with the agent's hooks (`hooks` keeps them alive).
agent::ChatFn chatFor(RunContext& run, Loop& loop, std::shared_ptr<HookRegistry> hooks) {
  RunContext* rp = &run;
  Loop* lp = &loop;
  return [rp, lp, hooks](const Value& messages, const Value& opts, std::function<void(const llm::StreamChunk&)> onChunk) {
    return llmChat(*rp, *lp, messages, opts, std::move(onChunk), hooks.get());
  };
}

// An agent's own hooks, {[point] = {before = fn, after = fn, around = fn}}, in a registry whose
// parent is the run's: they apply to this agent's runs (agent.run), model calls (llm.call) and
// tool calls (tool.call), after the run's and global hooks of the same priority.
std::shared_ptr<HookRegistry> agentHooks(RunContext& run, const std::string& name, const Value& spec) {
  auto reg = std::make_shared<HookRegistry>(&hooksFor(run));
  if (spec.isNull()) return reg;
  const std::string example = " (e.g. hooks = {[\"tool.call\"] = {before = function(ctx) ... end}})";
  if (!spec.isObject())
    fail(codes::kInvalidArgument, "agent config: hooks must be a table of hook points" + example + ", got " + spec.describe());
  for (const auto& [point, kinds] : spec.asObject()) {
    if (point != hook_points::kAgentRun && point != hook_points::kLlmCall && point != hook_points::kToolCall)
      fail(codes::kInvalidArgument, "agent config: hooks[\"" + point +
                                        "\"]: an agent's own hooks apply to agent.run, llm.call and tool.call");
    if (!kinds.isObject())
      fail(codes::kInvalidArgument, "agent config: hooks[\"" + point + "\"] must be a table of before / after / around functions" +
                                        example + ", got " + kinds.describe());
    for (const auto& [kind, fn] : kinds.asObject()) {
      HookKind k;
      if (kind == "before") k = HookKind::kBefore;
      else if (kind == "after") k = HookKind::kAfter;
      else if (kind == "around") k = HookKind::kAround;
      else fail(codes::kInvalidArgument, "agent config: hooks[\"" + point + "\"]." + kind + ": the kinds are before, after and around");
      if (!fn.isFunction())
        fail(codes::kInvalidArgument, "agent config: hooks[\"" + point + "\"]." + kind + " must be a function, got " + fn.describe());
      reg->add(point, k, scriptHook(fn.asFunction(), k), 0, "agent:" + name + " " + kind);
    }
  }
  return reg;
}

// An agent run continues in host callbacks, where no script task is running: it calls out
// within the usage scope current when it started (a workflow step's), so the step counts it.
agent::Within withinScope(RunContext& run) {
  if (!run.usageScope) return nullptr;
  return [rp = &run, scope = run.usageScope](const std::function<PromisePtr()>& f) {
    UsageScopeGuard g(*rp, scope);
    return f();
  };
}

// One agent run as an `invoke_agent` span (GenAI semantic conventions) under `parent` ("" =
// the current span). The run goes on in host callbacks, so it calls out (its model and tool
// calls) with its span current, within the usage scope current when it started.
PromisePtr tracedRun(RunContext& run, const AgentPtr& a, Value input, Value opts, agent::EventFn ev,
                     std::string parent = "") {
  auto tracer = observe::tracerFor(run).shared_from_this();
  const std::string& name = a->config().name;
  std::string model = opts.isObject() && opts.get("model").isString() ? opts.getString("model") : a->config().model;
  Value attrs = Value::object({{"gen_ai.operation.name", "invoke_agent"}, {"gen_ai.agent.name", name}});
  if (!model.empty()) {
    auto [prov, id] = llm::splitModelName(model);
    attrs.asObject().set("gen_ai.request.model", id);
    attrs.asObject().set("gen_ai.provider.name", observe::genAiProviderName(prov));
  }
  if (a->config().description.isString()) attrs.asObject().set("gen_ai.agent.description", a->config().description);
  std::string span = tracer->start("invoke_agent " + name, observe::SpanKind::kInternal, attrs, std::move(parent));
  agent::Within outer = withinScope(run);
  agent::Within within = [outer, tracer, span](const std::function<PromisePtr()>& f) {
    std::string prev = tracer->swapCurrent(span);
    PromisePtr p;
    try {
      p = outer ? outer(f) : f();
    } catch (...) {
      tracer->swapCurrent(prev);
      throw;
    }
    tracer->swapCurrent(prev);
    return p;
  };
  // The run's first model call starts inside run(): the span is current for it too.
  std::string prev = tracer->swapCurrent(span);
  PromisePtr p = a->run(std::move(input), std::move(opts), std::move(ev), within);
  tracer->swapCurrent(prev);
  p->onSettle([tracer, span](const Promise& q) {
    if (q.rejected()) return tracer->end(span, q.error().code, q.error().message);
    const Value& v = q.value();
    const Value& usage = v.get("usage");
    if (usage.get("input_tokens").isNumber()) tracer->setAttribute(span, "gen_ai.usage.input_tokens", usage.getInt("input_tokens"));
    if (usage.get("output_tokens").isNumber()) tracer->setAttribute(span, "gen_ai.usage.output_tokens", usage.getInt("output_tokens"));
    if (v.get("model").isString()) tracer->setAttribute(span, "gen_ai.response.model", llm::splitModelName(v.getString("model")).second);
    tracer->setAttribute(span, "llmspell.agent.status", v.get("status"));
    tracer->setAttribute(span, "llmspell.agent.iterations", v.get("iterations"));
    tracer->end(span);
  });
  return p;
}

// The agent as a tool: {input} -> the agent's answer text.
std::string defineAgentTool(RunContext& run, const AgentPtr& a, const Value& opts) {
  tools::Tool t;
  t.name = opts.getString("name", a->config().name);
  const Value& d = a->config().description;
  t.description = opts.getString("description", d.isString() ? d.asString() : "Ask the agent '" + a->config().name + "'");
  t.category = "agent";
  t.parameters = Value::object(
      {{"type", "object"},
       {"properties", Value::object({{"input", Value::object({{"type", "string"}, {"description", "the task or question for the agent"}})}})},
       {"required", Value::array({Value("input")})}});
  std::weak_ptr<Agent> weak = a;
  t.run = [weak, rp = &run](const Value& args, tools::ToolEnv& env) -> PromisePtr {
    auto ag = weak.lock();
    if (!ag) return Promise::rejected(Error(codes::kNotFound, "the agent behind this tool is gone"));
    // Runs of an agent with memory take turns, so a run asking for itself as a tool would wait
    // for its own end: refuse it (the model gets the error) rather than hang.
    if (ag->config().memory != "none" && env.ctx.getString("caller") == "agent:" + ag->config().name)
      return Promise::rejected(Error(codes::kInvalidArgument,
                                     "agent '" + ag->config().name + "' cannot call itself as a tool while its memory is in use; "
                                     "give the tool a copy (a:clone{memory = \"none\"}) instead"));
    return promiseThen(tracedRun(*rp, ag, args.get("input"), Value::object(), nullptr),
                       [](const Value& r) { return r.get("text"); });
  };
  std::string name = t.name;
  tools::toolsFor(run).define(std::move(t));
  return name;
}

// config.tools: names, tool tables (defined through tools.define) or agents (as tools).
std::vector<std::string> toolNames(CallContext& cx, const Value& tools) {
  std::vector<std::string> names;
  if (tools.isNull()) return names;
  if (!tools.isArray()) fail(codes::kInvalidArgument, "agent config: tools must be a list of tool names, tool tables or agents, got " + tools.describe());
  for (const auto& t : tools.asArray()) {
    if (t.isString()) {
      names.push_back(t.asString());
    } else if (t.isObject()) {
      PromisePtr p = Registry::invoke("tools.define", cx, {t});
      if (p->rejected()) throw Exception(p->error());
      names.push_back(t.getString("name"));
    } else if (t.isHandle() && std::dynamic_pointer_cast<Agent>(t.asHandle())) {
      names.push_back(defineAgentTool(cx.run, std::dynamic_pointer_cast<Agent>(t.asHandle()), Value::object()));
    } else {
      fail(codes::kInvalidArgument, "agent config: a tool must be a name, a tool table or an agent, got " + t.describe());
    }
  }
  return names;
}

// Persistent memory: the history under key "history" in scope "agent:<name>".
Value stateOpts(const AgentPtr& a) { return Value::object({{"scope", "agent:" + a->config().name}}); }

void loadMemory(CallContext& cx, const AgentPtr& a) {
  PromisePtr p = Registry::invoke("state.get", cx, {Value("history"), Value::array(), stateOpts(a)});
  if (p->rejected()) throw Exception(p->error());
  if (p->fulfilled() && p->value().isArray()) a->setHistory(p->value());
}

AgentPtr create(CallContext& cx, const Value& config) {
  agent::AgentConfig cfg = agent::configFromValue(config);
  if (!cfg.outputSchema.isNull()) cfg.outputSchema = schemaFromScript(cfg.outputSchema);
  auto& ar = agentsOf(cx.run);
  if (cfg.name.empty()) cfg.name = "agent" + std::to_string(++ar.unnamed);
  cfg.tools = toolNames(cx, config.get("tools"));
  std::shared_ptr<HookRegistry> hooks = agentHooks(cx.run, cfg.name, cfg.hooks);
  HookRegistry* hp = hooks.get();
  auto a = std::make_shared<Agent>(std::move(cfg), tools::toolsFor(cx.run), chatFor(cx.run, cx.loop, std::move(hooks)), hp,
                                   &busFor(cx.run));
  if (a->config().memory == "persistent") loadMemory(cx, a);
  ar.byName[a->config().name] = a;
  return a;
}

// One run from a script: events to a script callback, persistent memory saved afterwards.
PromisePtr runAgent(CallContext& cx, const AgentPtr& a, const Value& input, const Value& opts, const Value& onEvent) {
  agent::EventFn ev;
  if (onEvent.isFunction()) {
    FunctionPtr fn = onEvent.asFunction();
    ev = [fn](const Value& e) {
      PromisePtr p = fn->call({e});
      if (p) p->markHandled();
    };
  }
  PromisePtr p = tracedRun(cx.run, a, input, opts, ev);
  if (a->config().memory != "persistent") return p;
  RunContext* rp = &cx.run;
  Loop* lp = &cx.loop;
  auto out = Promise::create();
  out->setCanceller([p] { p->cancel(); });
  p->onSettle([out, a, rp, lp](const Promise& q) {
    if (q.rejected()) return out->reject(q.error());
    CallContext c{*rp, *lp, "agent:run"};
    PromisePtr s = Registry::invoke("state.set", c, {Value("history"), a->history(), stateOpts(a)});
    Value v = q.value();
    s->onSettle([out, v](const Promise& w) {
      if (w.rejected()) out->reject(w.error());
      else out->resolve(v);
    });
  });
  return out;
}

Value agentInfo(const AgentPtr& a) {
  Value v = agent::configToValue(a->config());
  v.asObject().set("runs", static_cast<int64_t>(a->runs()));
  return v;
}

// Collaboration: rounds over the agents in a fixed order, each seeing the discussion so far;
// an optional moderator writes the final answer.
struct Collab {
  std::vector<AgentPtr> agents;
  AgentPtr moderator;
  std::string task;
  int rounds = 1;
  size_t round = 0, turn = 0;
  // order = "moderator": before each turn the moderator names the next speaker (or DONE), up
  // to rounds x agents turns.
  bool moderated = false;
  bool moderatorDone = false;
  size_t turns = 0;
  size_t last = SIZE_MAX;  // index of the last speaker
  Value transcript = Value::array();
  int64_t tokens = 0;
  double cost = 0;
  PromisePtr result = Promise::create();
  PromisePtr inflight;
  RunContext* run = nullptr;
  UsageScopePtr scope;     // the usage scope of the call that started it
  std::string parentSpan;  // the span current when it started: its agents' runs nest there
};

std::string discussion(const Collab& c) {
  std::string s = c.task;
  if (!c.transcript.asArray().empty()) {
    s += "\n\nThe discussion so far:\n";
    for (const auto& t : c.transcript.asArray()) s += "- " + t.getString("agent") + ": " + t.getString("text") + "\n";
  }
  return s;
}

void collabNext(const std::shared_ptr<Collab>& c);

void collabFinish(const std::shared_ptr<Collab>& c, const std::string& text) {
  Value usage = Value::object({{"total_tokens", c->tokens}});
  c->result->resolve(Value::object({{"text", text}, {"transcript", c->transcript}, {"rounds", int64_t{c->rounds}},
                                    {"usage", usage}, {"cost_usd", c->cost}}));
}

void collabRun(const std::shared_ptr<Collab>& c, const AgentPtr& a, const std::string& prompt,
               std::function<void(const Value&)> then) {
  UsageScopeGuard g(*c->run, c->scope);
  c->inflight = tracedRun(*c->run, a, Value(prompt), Value::object(), nullptr, c->parentSpan);
  c->inflight->onSettle([c, then = std::move(then)](const Promise& q) {
    if (!c->result->pending()) return;
    if (q.rejected()) return c->result->reject(q.error());
    c->tokens += q.value().get("usage").getInt("total_tokens");
    c->cost += q.value().getNumber("cost_usd");
    then(q.value());
  });
}

constexpr size_t kPickDone = SIZE_MAX - 1;

std::string lowerAscii(std::string s) {
  for (char& ch : s)
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  return s;
}

// Where `word` first occurs in `text` as a whole word (both lower case), or npos.
size_t findWord(const std::string& text, const std::string& word) {
  auto isWordChar = [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
  };
  for (size_t at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) {
    bool startOk = at == 0 || !isWordChar(text[at - 1]);
    bool endOk = at + word.size() >= text.size() || !isWordChar(text[at + word.size()]);
    if (startOk && endOk) return at;
  }
  return std::string::npos;
}

// The moderator's pick: the participant named first in its reply, kPickDone for DONE (when it
// comes before any name), or SIZE_MAX when the reply names nobody.
size_t parsePick(const Collab& c, const std::string& reply) {
  std::string text = lowerAscii(reply);
  size_t best = SIZE_MAX, bestAt = std::string::npos;
  for (size_t i = 0; i < c.agents.size(); ++i) {
    size_t at = findWord(text, lowerAscii(c.agents[i]->config().name));
    if (at != std::string::npos && (bestAt == std::string::npos || at < bestAt)) best = i, bestAt = at;
  }
  size_t done = findWord(text, "done");
  if (done != std::string::npos && (bestAt == std::string::npos || done < bestAt)) return kPickDone;
  return best;
}

void collabSpeak(const std::shared_ptr<Collab>& c, size_t idx) {
  const AgentPtr& a = c->agents[idx];
  collabRun(c, a, discussion(*c), [c, idx, name = a->config().name](const Value& r) {
    c->transcript.asArray().push(Value::object({{"agent", name},
                                                {"round", static_cast<int64_t>(c->turns / c->agents.size() + 1)},
                                                {"text", r.getString("text")}}));
    ++c->turns;
    c->last = idx;
    collabNext(c);
  });
}

void collabNext(const std::shared_ptr<Collab>& c) {
  if (c->moderated) {
    if (c->moderatorDone || c->turns >= static_cast<size_t>(c->rounds) * c->agents.size()) {
      std::string prompt = discussion(*c) + "\nYou are the moderator. Give the final answer to the task, drawing on the discussion.";
      return collabRun(c, c->moderator, prompt, [c](const Value& r) { collabFinish(c, r.getString("text")); });
    }
    std::string names;
    for (const auto& a : c->agents) names += (names.empty() ? "" : ", ") + a->config().name;
    std::string prompt = discussion(*c) + "\nYou are the moderator. The participants are: " + names +
                         ". Reply with only the name of the participant who should speak next, or DONE if the "
                         "discussion is enough to give the final answer.";
    return collabRun(c, c->moderator, prompt, [c](const Value& r) {
      size_t pick = parsePick(*c, r.getString("text"));
      if (pick == kPickDone) {
        c->moderatorDone = true;
        return collabNext(c);
      }
      // A reply that names nobody: the next participant in order speaks.
      if (pick == SIZE_MAX) pick = c->last == SIZE_MAX ? 0 : (c->last + 1) % c->agents.size();
      collabSpeak(c, pick);
    });
  }
  if (c->round >= static_cast<size_t>(c->rounds)) {
    if (!c->moderator) {
      const auto& t = c->transcript.asArray();
      return collabFinish(c, t.size() ? t[t.size() - 1].getString("text") : "");
    }
    std::string prompt = discussion(*c) + "\nYou are the moderator. Give the final answer to the task, drawing on the discussion.";
    return collabRun(c, c->moderator, prompt, [c](const Value& r) { collabFinish(c, r.getString("text")); });
  }
  const AgentPtr& a = c->agents[c->turn];
  collabRun(c, a, discussion(*c), [c, name = a->config().name](const Value& r) {
    c->transcript.asArray().push(Value::object({{"agent", name}, {"round", static_cast<int64_t>(c->round + 1)}, {"text", r.getString("text")}}));
    if (++c->turn == c->agents.size()) {
      c->turn = 0;
      ++c->round;
    }
    collabNext(c);
  });
}

}  // namespace

void llmspell_register_agent(Registry& r) {
  r.type("agent", "A model with a system prompt and tools, run as a tool loop: run, stream, add_tool, history, as_tool");

  r.fn("agent", "create")
      .param("config", optionsSchema(agent::configFields()),
             "{name, model, system, tools, max_iterations, max_repeats, temperature, memory, output_schema, budget, description, options, hooks = {[point] = {before, after, around}}}")
      .returns("agent").doc("Creates an agent and registers it under its name for this run")
      .sync([](CallContext& cx, Args a) -> Value { return Value(HostObjectPtr(create(cx, a[0]))); });

  r.method("agent", "run")
      .param("self", R"({"type":"handle"})").param("input", R"({"type":["string","object","array"]})")
      .opt("opts", R"({"type":"object"})", "{model, max_iterations, budget, temperature, max_tokens, timeout}")
      .returns("{agent, model, text, output, status, error (when a guard stopped it), messages, tool_calls, iterations, usage, cost_usd, duration_ms}")
      .doc("The tool loop: model, tool calls (concurrently), results, model... until an answer; runs of an agent with memory take turns")
      .async([](CallContext& cx, Args a) { return runAgent(cx, agentOf(a[0], "agent:run"), a[1], a[2], Value()); });

  r.method("agent", "stream")
      .param("self", R"({"type":"handle"})").param("input", R"({"type":["string","object","array"]})")
      .opt("opts", R"({"type":"object"})")
      .opt("on_event", R"({"type":"function"})", "called with {type = text|reasoning|tool_call|tool_result|iteration|done, ...}")
      .returns("the same result as run").doc("Runs the agent, reporting text deltas and tool events as they happen")
      .async([](CallContext& cx, Args a) { return runAgent(cx, agentOf(a[0], "agent:stream"), a[1], a[2], a[3]); });

  r.method("agent", "add_tool")
      .param("self", R"({"type":"handle"})").param("tool", R"({"type":["string","object","handle"]})")
      .returns("the tool's name").doc("Gives the agent a tool (a name, a tool table, or another agent)")
      .sync([](CallContext& cx, Args a) -> Value {
        auto ag = agentOf(a[0], "agent:add_tool");
        auto names = toolNames(cx, Value::array({a[1]}));
        ag->addTool(names.front());
        return Value(names.front());
      });
  r.method("agent", "remove_tool")
      .param("self", R"({"type":"handle"})").param("name", R"({"type":"string"})")
      .returns("true when the agent had the tool").doc("Takes a tool away from the agent")
      .sync([](CallContext&, Args a) -> Value { return Value(agentOf(a[0], "agent:remove_tool")->removeTool(a[1].asString())); });
  r.method("agent", "tools")
      .param("self", R"({"type":"handle"})")
      .returns("list of tool names").doc("The agent's tools")
      .sync([](CallContext&, Args a) -> Value {
        auto out = Value::array();
        for (const auto& t : agentOf(a[0], "agent:tools")->config().tools) out.asArray().push(Value(t));
        return out;
      });
  r.method("agent", "history")
      .param("self", R"({"type":"handle"})")
      .returns("list of messages").doc("The conversation so far (without the system prompt)")
      .sync([](CallContext&, Args a) -> Value { return agentOf(a[0], "agent:history")->history().deepCopy(); });
  r.method("agent", "reset")
      .param("self", R"({"type":"handle"})")
      .returns("nil").doc("Forgets the conversation (persistent memory too)")
      .async([](CallContext& cx, Args a) -> PromisePtr {
        auto ag = agentOf(a[0], "agent:reset");
        ag->reset();
        if (ag->config().memory != "persistent") return Promise::resolved(Value());
        return Registry::invoke("state.delete", cx, {Value("history"), stateOpts(ag)});
      });
  r.method("agent", "get")
      .param("self", R"({"type":"handle"})").param("key", R"({"type":"string"})")
      .returns("the value or nil").doc("Reads the agent's own state")
      .sync([](CallContext&, Args a) -> Value { return agentOf(a[0], "agent:get")->get(a[1].asString()); });
  r.method("agent", "set")
      .param("self", R"({"type":"handle"})").param("key", R"({"type":"string"})").param("value", R"({})")
      .returns("nil").doc("Writes the agent's own state")
      .sync([](CallContext&, Args a) -> Value {
        agentOf(a[0], "agent:set")->set(a[1].asString(), a[2]);
        return Value();
      });
  r.method("agent", "info")
      .param("self", R"({"type":"handle"})")
      .returns("{name, model, system, tools, max_iterations, memory, budget, runs, ...}").doc("The agent's configuration")
      .sync([](CallContext&, Args a) -> Value { return agentInfo(agentOf(a[0], "agent:info")); });
  r.method("agent", "clone")
      .param("self", R"({"type":"handle"})").opt("changes", R"({"type":"object"})", "config fields to change; name defaults to <name>_copy")
      .returns("agent").doc("A new agent from this one's configuration (without its conversation)")
      .sync([](CallContext& cx, Args a) -> Value {
        auto ag = agentOf(a[0], "agent:clone");
        Value cfg = agent::configToValue(ag->config());
        cfg.asObject().set("name", ag->config().name + "_copy");
        if (a[1].isObject())
          for (const auto& [k, v] : a[1].asObject()) cfg.asObject().set(k, v);
        return Value(HostObjectPtr(create(cx, cfg)));
      });
  r.method("agent", "as_tool")
      .param("self", R"({"type":"handle"})").opt("opts", R"({"type":"object"})", "{name, description}")
      .returns("the tool's name").doc("Registers this agent as a tool ({input} -> answer text) other agents can call")
      .sync([](CallContext& cx, Args a) -> Value {
        return Value(defineAgentTool(cx.run, agentOf(a[0], "agent:as_tool"), a[1].isObject() ? a[1] : Value::object()));
      });

  r.fn("agent", "get")
      .param("name", R"({"type":"string"})")
      .returns("agent or nil").doc("The agent of this run with that name")
      .sync([](CallContext& cx, Args a) -> Value {
        auto& ar = agentsOf(cx.run);
        auto it = ar.byName.find(a[0].asString());
        return it == ar.byName.end() ? Value() : Value(HostObjectPtr(it->second));
      });
  r.fn("agent", "list")
      .returns("list of {name, model, tools, ...}").doc("The agents of this run")
      .sync([](CallContext& cx, Args) -> Value {
        auto out = Value::array();
        for (const auto& [n, ag] : agentsOf(cx.run).byName) out.asArray().push(agentInfo(ag));
        return out;
      });
  r.fn("agent", "remove")
      .param("name", R"({"type":"string"})")
      .returns("true when it existed").doc("Forgets an agent of this run")
      .sync([](CallContext& cx, Args a) -> Value { return Value(agentsOf(cx.run).byName.erase(a[0].asString()) > 0); });

  r.fn("agent", "delegate")
      .param("from", R"({"type":["string","handle"]})").param("to", R"({"type":["string","handle"]})")
      .param("task", R"({"type":"string"})").opt("opts", R"({"type":"object"})")
      .returns("the result of to:run, plus {from, to}")
      .doc("Hands a task from one agent to another; the exchange is added to the delegator's memory")
      .async([](CallContext& cx, Args a) -> PromisePtr {
        AgentPtr from = findAgent(cx.run, a[0], "agent.delegate");
        AgentPtr to = findAgent(cx.run, a[1], "agent.delegate");
        busFor(cx.run).emit("agent.delegate", Value::object({{"from", from->config().name}, {"to", to->config().name}, {"task", a[2]}}));
        std::string task = a[2].asString();
        return promiseThen(runAgent(cx, to, a[2], a[3], Value()), [from, to, task](const Value& r) {
          Value out = r;
          out.asObject().set("from", from->config().name);
          out.asObject().set("to", to->config().name);
          if (from->config().memory != "none") {
            Value h = from->history().deepCopy();
            h.asArray().push(Value::object({{"role", "user"}, {"content", "[delegated to " + to->config().name + "] " + task}}));
            h.asArray().push(Value::object({{"role", "assistant"}, {"content", r.getString("text")}}));
            from->setHistory(h);
          }
          return out;
        });
      });

  r.fn("agent", "collaborate")
      .param("agents", R"({"type":"array","minItems":1})", "agents or agent names, in speaking order")
      .param("task", R"({"type":"string"})")
      .opt("opts", R"({"type":"object"})",
           "{rounds = 1, moderator = agent, order = \"fixed\" | \"moderator\"}: with order = \"moderator\" the moderator "
           "names each next speaker (or DONE), up to rounds x agents turns")
      .returns("{text, transcript = {{agent, round, text}}, rounds, usage, cost_usd}")
      .doc("Rounds of discussion, in a fixed order or with the moderator picking each speaker; a moderator, when given, writes the final answer")
      .async([](CallContext& cx, Args a) -> PromisePtr {
        auto c = std::make_shared<Collab>();
        c->run = &cx.run;
        c->scope = cx.run.usageScope;
        c->parentSpan = observe::tracerFor(cx.run).current();
        for (const auto& v : a[0].asArray()) c->agents.push_back(findAgent(cx.run, v, "agent.collaborate"));
        c->task = a[1].asString();
        const Value& o = a[2];
        if (o.isObject()) {
          const Value& rounds = o.get("rounds");
          if (!rounds.isNull()) {
            if (!rounds.isNumber() || rounds.asNumber() < 1 || rounds.asNumber() > 100)
              fail(codes::kInvalidArgument, "agent.collaborate: opts.rounds must be a number from 1 to 100, got " + rounds.describe());
            c->rounds = static_cast<int>(rounds.asNumber());
          }
          if (!o.get("moderator").isNull()) c->moderator = findAgent(cx.run, o.get("moderator"), "agent.collaborate");
          const Value& order = o.get("order");
          if (!order.isNull()) {
            if (!order.isString() || (order.asString() != "fixed" && order.asString() != "moderator"))
              fail(codes::kInvalidArgument, "agent.collaborate: opts.order must be \"fixed\" or \"moderator\", got " + order.describe());
            c->moderated = order.asString() == "moderator";
            if (c->moderated && !c->moderator)
              fail(codes::kInvalidArgument, "agent.collaborate: opts.order = \"moderator\" needs opts.moderator (the agent that picks each speaker)");
          }
        }
        std::weak_ptr<Collab> weak = c;
        c->result->setCanceller([weak] {
          if (auto s = weak.lock())
            if (s->inflight) s->inflight->cancel();
        });
        collabNext(c);
        return c->result;
      });
}

}  // namespace llmspell

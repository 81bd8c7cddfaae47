// The agent tool loop. A run is a chain of callbacks on the loop thread: step() asks the model,
// afterModel() either finishes or starts every tool call of the turn at once and, when the last
// one settles, appends the results and calls step() again. RunState holds everything a run owns,
// so cancelling the run only has to cancel what `inflight` points at.
#include "llmspell/agent/agent.hpp"

#include <chrono>

#include "llmspell/core/convert.hpp"
#include "llmspell/core/schema.hpp"
#include "llmspell/llm/json_repair.hpp"

namespace llmspell::agent {

namespace {

// Tool names may hold '.' (an MCP server's tools: "fs.read_file"); providers accept only
// [A-Za-z0-9_-], so the model sees "fs__read_file" and its calls are mapped back.
std::string providerToolName(const std::string& name) {
  std::string out;
  for (char c : name) out += c == '.' ? std::string("__") : std::string(1, c);
  return out;
}

using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

int64_t intField(const Value& o, const char* k, int64_t lo, int64_t hi, int64_t dflt) {
  const Value& v = o.get(k);
  if (v.isNull()) return dflt;
  if (!v.isNumber() || v.asNumber() != static_cast<double>(static_cast<int64_t>(v.asNumber())) ||
      v.asNumber() < static_cast<double>(lo) || v.asNumber() > static_cast<double>(hi))
    fail(codes::kInvalidArgument, std::string("agent config: ") + k + " must be an integer from " + std::to_string(lo) +
                                      " to " + std::to_string(hi) + ", got " + v.describe());
  return static_cast<int64_t>(v.asNumber());
}

double numField(const Value& o, const char* k, double dflt, const char* what) {
  const Value& v = o.get(k);
  if (v.isNull()) return dflt;
  if (!v.isNumber() || v.asNumber() < 0)
    fail(codes::kInvalidArgument, std::string(what) + k + " must be a non-negative number, got " + v.describe());
  return v.asNumber();
}

std::string strField(const Value& o, const char* k) {
  const Value& v = o.get(k);
  if (v.isNull()) return "";
  if (!v.isString()) fail(codes::kInvalidArgument, std::string("agent config: ") + k + " must be a string, got " + v.describe());
  return v.asString();
}

Budget budgetFrom(const Value& b, Budget base) {
  if (b.isNull()) return base;
  if (!b.isObject()) fail(codes::kInvalidArgument, "agent budget must be a table {max_tokens, max_cost_usd, max_seconds}, got " + b.describe());
  for (const auto& [k, v] : b.asObject()) {
    (void)v;
    if (k != "max_tokens" && k != "max_cost_usd" && k != "max_seconds" && k != "timeout")
      fail(codes::kInvalidArgument, "agent budget: unknown field '" + k + "' (max_tokens, max_cost_usd, max_seconds)");
  }
  const char* what = "agent budget: ";
  base.maxTokens = static_cast<int64_t>(numField(b, "max_tokens", static_cast<double>(base.maxTokens), what));
  base.maxCostUsd = numField(b, "max_cost_usd", base.maxCostUsd, what);
  base.maxSeconds = numField(b, "max_seconds", numField(b, "timeout", base.maxSeconds, what), what);
  return base;
}

// The text a tool result is sent to the model as.
std::string resultText(const Value& v) {
  if (v.isString()) return v.asString();
  if (v.isNull()) return "null";
  return toJsonText(v);
}

Value usageZero() {
  return Value::object({{"input_tokens", int64_t{0}}, {"output_tokens", int64_t{0}}, {"total_tokens", int64_t{0}}});
}

}  // namespace

const std::vector<std::string_view>& configFields() {
  static const std::vector<std::string_view> known{"name",        "model",  "system",        "tools",  "max_iterations",
                                                   "max_repeats", "temperature", "memory", "output_schema",
                                                   "budget",      "description", "options", "hooks"};
  return known;
}

AgentConfig configFromValue(const Value& v) {
  if (!v.isObject()) fail(codes::kInvalidArgument, "agent config must be a table, got " + v.describe());
  for (const auto& [k, val] : v.asObject()) {
    (void)val;
    bool ok = false;
    for (std::string_view n : configFields()) ok = ok || k == n;
    if (!ok) {
      std::string known;
      for (std::string_view n : configFields()) known += (known.empty() ? "" : ", ") + std::string(n);
      fail(codes::kInvalidArgument, "agent config: unknown field '" + k + "' (known: " + known + ")");
    }
  }
  AgentConfig c;
  c.name = strField(v, "name");
  c.model = strField(v, "model");
  c.system = strField(v, "system");
  c.maxIterations = static_cast<int>(intField(v, "max_iterations", 1, 1000, c.maxIterations));
  c.maxRepeats = static_cast<int>(intField(v, "max_repeats", 1, 1000, c.maxRepeats));
  if (!v.get("temperature").isNull()) {
    const Value& t = v.get("temperature");
    if (!t.isNumber() || t.asNumber() < 0 || t.asNumber() > 2)
      fail(codes::kInvalidArgument, "agent config: temperature must be a number from 0 to 2, got " + t.describe());
    c.temperature = t.asNumber();
  }
  std::string mem = strField(v, "memory");
  if (!mem.empty()) {
    if (mem != "none" && mem != "session" && mem != "persistent")
      fail(codes::kInvalidArgument, "agent config: memory must be \"none\", \"session\" or \"persistent\", got \"" + mem + "\"");
    c.memory = mem;
  }
  const Value& os = v.get("output_schema");
  if (!os.isNull() && !os.isObject())
    fail(codes::kInvalidArgument, "agent config: output_schema must be a JSON Schema table, got " + os.describe());
  c.outputSchema = os;
  c.budget = budgetFrom(v.get("budget"), c.budget);
  const Value& opts = v.get("options");
  if (opts.isObject()) c.llmOptions = opts;
  else if (!opts.isNull()) fail(codes::kInvalidArgument, "agent config: options must be a table of llm.chat options");
  c.description = v.get("description");
  c.hooks = v.get("hooks");
  return c;
}

Value configToValue(const AgentConfig& c) {
  auto tools = Value::array();
  for (const auto& t : c.tools) tools.asArray().push(Value(t));
  Value budget = Value::object();
  if (c.budget.maxTokens) budget.asObject().set("max_tokens", c.budget.maxTokens);
  if (c.budget.maxCostUsd > 0) budget.asObject().set("max_cost_usd", c.budget.maxCostUsd);
  if (c.budget.maxSeconds > 0) budget.asObject().set("max_seconds", c.budget.maxSeconds);
  Value v = Value::object({{"name", c.name}, {"model", c.model}, {"system", c.system}, {"tools", tools},
                           {"max_iterations", int64_t{c.maxIterations}}, {"max_repeats", int64_t{c.maxRepeats}},
                           {"memory", c.memory}, {"budget", budget}, {"options", c.llmOptions}});
  if (c.temperature) v.asObject().set("temperature", *c.temperature);
  if (!c.outputSchema.isNull()) v.asObject().set("output_schema", c.outputSchema);
  if (!c.description.isNull()) v.asObject().set("description", c.description);
  if (!c.hooks.isNull()) v.asObject().set("hooks", c.hooks);
  return v;
}

struct Agent::RunState {
  std::shared_ptr<Agent> self;
  PromisePtr result;
  EventFn onEvent;
  Within within;
  Value messages = Value::array();  // what is sent: system + history + this run
  size_t historyFrom = 0;           // first message that belongs to the history
  Value chatOpts;
  int maxIterations = 10;
  Budget budget;
  int iteration = 0;
  int schemaRetries = 0;
  std::map<std::string, int> seen;  // name + "\n" + canonical arguments -> times called
  Value toolCalls = Value::array();
  int64_t inputTokens = 0, outputTokens = 0, totalTokens = 0;
  double cost = 0;
  Clock::time_point start = Clock::now();
  std::vector<PromisePtr> inflight;
  Loop::TimerHandle deadline;
  std::string lastText;
  Value lastReply;
  bool done = false;
};

Agent::Agent(AgentConfig cfg, tools::ToolRegistry& tools, ChatFn chat, HookRegistry* hooks, EventBus* bus)
    : cfg_(std::move(cfg)), tools_(tools), chat_(std::move(chat)), hooks_(hooks), bus_(bus) {
  if (!chat_) fail(codes::kInvalidArgument, "an agent needs a chat function");
  for (const auto& t : cfg_.tools) {
    if (!tools_.find(t)) fail(codes::kNotFound, "agent '" + cfg_.name + "': no tool named '" + t + "'");
  }
}

Value Agent::get(const std::string& key) const { return data_.get(key); }
void Agent::set(const std::string& key, Value v) { data_.asObject().set(key, std::move(v)); }

void Agent::addTool(const std::string& name) {
  if (!tools_.find(name)) fail(codes::kNotFound, "agent '" + cfg_.name + "': no tool named '" + name + "'");
  for (const auto& t : cfg_.tools)
    if (t == name) return;
  cfg_.tools.push_back(name);
}

bool Agent::removeTool(const std::string& name) {
  for (auto it = cfg_.tools.begin(); it != cfg_.tools.end(); ++it) {
    if (*it == name) {
      cfg_.tools.erase(it);
      return true;
    }
  }
  return false;
}

PromisePtr Agent::run(Value input, Value opts, EventFn onEvent, Within within) {
  if (!hooks_ || !hooks_->has(hook_points::kAgentRun))
    return runInner(std::move(input), std::move(opts), std::move(onEvent), std::move(within));
  auto self = shared_from_this();
  Value args = Value::object({{"agent", cfg_.name}, {"input", input}, {"opts", opts.isNull() ? Value::object() : opts}});
  return hooks_->run(hook_points::kAgentRun, std::move(args), [self, onEvent, within](Value a) {
    return self->runInner(a.get("input"), a.get("opts"), onEvent, within);
  });
}

// Runs of an agent with memory take turns on it: a run that starts while another is going waits
// until that one has finished and stored its exchange, then starts from the whole conversation.
// Giving concurrent runs each their own copy instead would leave no right answer for what the
// memory holds afterwards (last writer wins, the bug this replaces); one conversation answered
// in order is what "session" promises, and what llm.session's sends do. Runs without memory are
// independent and run at once.
PromisePtr Agent::runInner(Value input, Value opts, EventFn onEvent, Within within) {
  if (cfg_.memory == "none") return startRun(std::move(input), std::move(opts), std::move(onEvent), std::move(within));
  auto out = Promise::create();
  auto self = shared_from_this();
  auto go = [self, out, input = std::move(input), opts = std::move(opts), onEvent = std::move(onEvent),
             within = std::move(within)]() mutable {
    if (!out->pending()) return self->nextOnMemory();  // cancelled while it waited
    PromisePtr p = self->startRun(std::move(input), std::move(opts), std::move(onEvent), std::move(within));
    out->setCanceller([p] { p->cancel(); });
    p->onSettle([self, out](const Promise& q) {
      if (q.rejected()) out->reject(q.error());
      else out->resolve(q.value());
      self->nextOnMemory();
    });
  };
  if (memoryBusy_) {
    memoryQueue_.push_back(std::move(go));
  } else {
    memoryBusy_ = true;
    go();
  }
  return out;
}

void Agent::nextOnMemory() {
  if (memoryQueue_.empty()) {
    memoryBusy_ = false;
    return;
  }
  auto next = std::move(memoryQueue_.front());
  memoryQueue_.pop_front();
  next();
}

PromisePtr Agent::startRun(Value input, Value opts, EventFn onEvent, Within within) {
  auto st = std::make_shared<RunState>();
  st->self = shared_from_this();
  st->result = Promise::create();
  st->onEvent = std::move(onEvent);
  st->within = std::move(within);
  try {
    if (!opts.isNull() && !opts.isObject()) fail(codes::kInvalidArgument, "agent run options must be a table, got " + opts.describe());
    st->maxIterations = cfg_.maxIterations;
    if (opts.isObject() && !opts.get("max_iterations").isNull())
      st->maxIterations = static_cast<int>(intField(opts, "max_iterations", 1, 1000, cfg_.maxIterations));
    st->budget = budgetFrom(opts.get("budget"), cfg_.budget);

    // The model's options: the agent's llm options, its model / temperature, this run's
    // overrides, and the tool specs.
    Value co = cfg_.llmOptions.isObject() ? cfg_.llmOptions.deepCopy() : Value::object();
    auto& o = co.asObject();
    if (!cfg_.model.empty()) o.set("model", cfg_.model);
    if (cfg_.temperature) o.set("temperature", *cfg_.temperature);
    if (opts.isObject()) {
      for (const char* k : {"model", "temperature", "max_tokens", "seed", "timeout", "retries"})
        if (!opts.get(k).isNull()) o.set(k, opts.get(k));
    }
    if (!cfg_.tools.empty()) {
      auto specs = Value::array();
      for (const auto& name : cfg_.tools) {
        auto t = tools_.find(name);
        if (!t) fail(codes::kNotFound, "agent '" + cfg_.name + "': tool '" + name + "' is no longer defined");
        Value params = t->parameters.isNull() ? Value::object({{"type", "object"}, {"properties", Value::object()}}) : t->parameters;
        specs.asArray().push(Value::object({{"name", providerToolName(t->name)}, {"description", t->description}, {"parameters", params}}));
      }
      o.set("tools", specs);
    }
    st->chatOpts = co;

    std::string system = cfg_.system;
    if (!cfg_.outputSchema.isNull()) {
      if (!system.empty()) system += "\n\n";
      system += "When you give your final answer, reply with only a JSON value (no prose, no code fence) that "
                "matches this JSON Schema:\n" + toJsonText(cfg_.outputSchema);
    }
    if (!system.empty()) st->messages.asArray().push(Value::object({{"role", "system"}, {"content", system}}));
    st->historyFrom = st->messages.asArray().size();
    if (cfg_.memory != "none") {
      for (const auto& m : history_.asArray()) st->messages.asArray().push(m);
    }
    if (input.isString()) st->messages.asArray().push(Value::object({{"role", "user"}, {"content", input}}));
    else if (input.isObject() && input.get("role").isString()) st->messages.asArray().push(input);
    else if (input.isObject() || input.isArray()) st->messages.asArray().push(Value::object({{"role", "user"}, {"content", toJsonText(input)}}));
    else fail(codes::kInvalidArgument, "agent input must be a string or a message table, got " + input.describe());
  } catch (...) {
    st->result->rejectCurrentException();
    return st->result;
  }

  ++runs_;
  std::weak_ptr<RunState> weak = st;
  st->result->setCanceller([weak] {
    if (auto s = weak.lock()) {
      s->done = true;
      s->deadline.cancel();
      auto inflight = std::move(s->inflight);
      for (auto& p : inflight) p->cancel();
    }
  });
  if (st->budget.maxSeconds > 0) {
    st->deadline = tools_.loop().setTimeout(st->budget.maxSeconds, [weak] {
      auto s = weak.lock();
      if (!s || s->done) return;
      Error e(codes::kBudgetExceeded, "agent '" + s->self->cfg_.name + "' ran out of its " +
                                          toJsonText(Value(s->budget.maxSeconds)) + " s" + " time budget after " +
                                          std::to_string(s->iteration) + " iteration(s)");
      s->result->cancel(e);
    });
  }
  if (bus_) bus_->emit("agent.start", Value::object({{"agent", cfg_.name}, {"input", input}}));
  step(st);
  return st->result;
}

void Agent::step(const std::shared_ptr<RunState>& st) {
  if (st->done) return;
  const Budget& b = st->budget;
  auto over = [&](const std::string& what) {
    st->done = true;
    st->deadline.cancel();
    Error e(codes::kBudgetExceeded, "agent '" + cfg_.name + "' " + what + " after " + std::to_string(st->iteration) +
                                        " iteration(s)");
    e.details = Value::object({{"iterations", int64_t{st->iteration}}, {"total_tokens", st->totalTokens}, {"cost_usd", st->cost}});
    if (bus_) bus_->emit("agent.finish", Value::object({{"agent", cfg_.name}, {"status", "budget_exceeded"}, {"iterations", int64_t{st->iteration}}}));
    st->result->reject(std::move(e));
  };
  if (b.maxTokens > 0 && st->totalTokens >= b.maxTokens)
    return over("used " + std::to_string(st->totalTokens) + " tokens of its " + std::to_string(b.maxTokens) + "-token budget");
  if (b.maxCostUsd > 0 && st->cost >= b.maxCostUsd)
    return over("spent $" + toJsonText(Value(st->cost)) + " of its $" + toJsonText(Value(b.maxCostUsd)) + " budget");
  if (st->iteration >= st->maxIterations)
    return finish(st, "max_iterations",
                  "agent '" + cfg_.name + "' stopped after max_iterations = " + std::to_string(st->maxIterations) +
                      " model calls without a final answer");

  ++st->iteration;
  if (st->onEvent) st->onEvent(Value::object({{"type", "iteration"}, {"n", int64_t{st->iteration}}}));
  std::function<void(const llm::StreamChunk&)> onChunk;
  if (st->onEvent) {
    EventFn ev = st->onEvent;
    onChunk = [ev](const llm::StreamChunk& c) {
      if (!c.text.empty()) ev(Value::object({{"type", "text"}, {"text", c.text}}));
      if (!c.reasoning.empty()) ev(Value::object({{"type", "reasoning"}, {"text", c.reasoning}}));
    };
  }
  PromisePtr p;
  try {
    if (st->within) p = st->within([&] { return chat_(st->messages, st->chatOpts, onChunk); });
    else p = chat_(st->messages, st->chatOpts, onChunk);
  } catch (...) {
    p = Promise::create();
    p->rejectCurrentException();
  }
  st->inflight = {p};
  p->onSettle([s = st](const Promise& q) {
    if (s->done) return;
    s->inflight.clear();
    if (q.rejected()) {
      s->done = true;
      s->deadline.cancel();
      if (s->self->bus_)
        s->self->bus_->emit("agent.finish", Value::object({{"agent", s->self->cfg_.name}, {"status", "failed"}, {"error", q.error().code}}));
      s->result->reject(q.error());
      return;
    }
    s->self->afterModel(s, q.value());
  });
}

void Agent::afterModel(const std::shared_ptr<RunState>& st, const Value& reply) {
  const Value& usage = reply.get("usage");
  st->inputTokens += usage.getInt("input_tokens");
  st->outputTokens += usage.getInt("output_tokens");
  st->totalTokens += usage.getInt("total_tokens");
  st->cost += reply.getNumber("cost_usd");
  st->lastText = reply.getString("text");
  st->lastReply = reply;
  Value msg = reply.get("message");
  if (!msg.isObject()) msg = Value::object({{"role", "assistant"}, {"content", st->lastText}});
  st->messages.asArray().push(msg);

  const Value& calls = reply.get("tool_calls");
  size_t n = calls.isArray() ? calls.asArray().size() : 0;
  if (bus_)
    bus_->emit("agent.step", Value::object({{"agent", cfg_.name}, {"iteration", int64_t{st->iteration}}, {"tool_calls", static_cast<int64_t>(n)}}));
  if (n == 0) {
    if (!cfg_.outputSchema.isNull()) {
      // Repaired and coerced as llm.structured does, before an iteration is spent on it.
      std::optional<Value> parsed;
      if (auto rep = llm::repairJson(st->lastText)) {
        llm::coerceToSchema(rep->value, cfg_.outputSchema, nullptr);
        parsed = std::move(rep->value);
      }
      std::vector<std::string> errs;
      if (!parsed) errs.push_back("$: the answer is not JSON");
      else errs = validateSchema(*parsed, cfg_.outputSchema);
      if (errs.empty()) {
        st->lastReply.asObject().set("output", *parsed);
        return finish(st, "completed");
      }
      if (st->iteration >= st->maxIterations) {
        st->done = true;
        st->deadline.cancel();
        Error e(codes::kValidationFailed, "agent '" + cfg_.name + "': the answer does not match output_schema: " + errs.front());
        auto all = Value::array();
        for (auto& s : errs) all.asArray().push(Value(s));
        e.details = Value::object({{"errors", all}, {"text", st->lastText}});
        st->result->reject(std::move(e));
        return;
      }
      std::string fb = "Your answer does not match the required JSON Schema:\n";
      for (auto& s : errs) fb += "- " + s + "\n";
      fb += "Reply again with only the corrected JSON value.";
      st->messages.asArray().push(Value::object({{"role", "user"}, {"content", fb}}));
      ++st->schemaRetries;
      return step(st);
    }
    return finish(st, "completed");
  }

  // Identical calls (same tool, same arguments) within one turn run once and their result
  // goes to each call id: a model asking for the same lookup three times at once is not stuck,
  // it is just redundant. `firstOf[i]` is the index of the call that runs for call i.
  std::vector<size_t> firstOf(n);
  std::vector<std::string> keys(n);
  {
    std::map<std::string, size_t> byKey;
    for (size_t i = 0; i < n; ++i) {
      const Value& c = calls.asArray()[i];
      Value args = c.get("arguments");
      if (args.isNull()) args = Value::object();
      keys[i] = c.getString("name") + "\n" + toJsonText(args);
      firstOf[i] = byKey.emplace(keys[i], i).first->second;
    }
  }
  // Repeated identical calls across turns: the model is stuck. Each turn counts a call once.
  for (size_t i = 0; i < n; ++i) {
    if (firstOf[i] != i) continue;
    if (++st->seen[keys[i]] > cfg_.maxRepeats) {
      const Value& c = calls.asArray()[i];
      return finish(st, "repeated_tool_call",
                    "agent '" + cfg_.name + "' stopped: the model asked for " + c.getString("name") + " with the same arguments (" +
                        toJsonText(c.get("arguments").isNull() ? Value::object() : c.get("arguments")) + ") in " +
                        std::to_string(st->seen[keys[i]]) + " turns, more than max_repeats = " +
                        std::to_string(cfg_.maxRepeats) + "; the call was not run again");
    }
  }

  // Every distinct call of the turn at once; results go back in the model's order, one per id.
  auto results = std::make_shared<std::vector<Value>>(n);
  size_t distinct = 0;
  for (size_t i = 0; i < n; ++i) distinct += firstOf[i] == i ? 1 : 0;
  auto left = std::make_shared<size_t>(distinct);
  std::vector<PromisePtr> ps;
  ps.reserve(distinct);
  for (size_t i = 0; i < n; ++i) {
    if (firstOf[i] != i) continue;
    const Value& c = calls.asArray()[i];
    std::string id = c.getString("id"), name = c.getString("name");
    for (const auto& t : cfg_.tools)
      if (t != name && providerToolName(t) == name) name = t;  // "fs__read_file" -> "fs.read_file"
    Value args = c.get("arguments");
    if (args.isNull()) args = Value::object();
    // The ids this call answers: its own and those of its duplicates later in the turn.
    std::vector<std::pair<size_t, std::string>> answers;
    for (size_t j = i; j < n; ++j)
      if (firstOf[j] == i) answers.emplace_back(j, calls.asArray()[j].getString("id"));
    if (st->onEvent)
      for (const auto& a : answers)
        st->onEvent(Value::object({{"type", "tool_call"}, {"id", a.second}, {"name", name}, {"arguments", args}}));
    auto t0 = Clock::now();
    PromisePtr p;
    bool allowed = false;
    for (const auto& t : cfg_.tools) allowed = allowed || t == name;
    if (!allowed) {
      p = Promise::rejected(Error(codes::kNotFound, "tool '" + name + "' is not available to this agent"));
    } else {
      auto call = [&] {
        return tools_.call(name, args, Value::object({{"caller", "agent:" + cfg_.name}, {"call_id", id}, {"agent", cfg_.name}}),
                           hooks_);
      };
      p = st->within ? st->within(call) : call();
    }
    ps.push_back(p);
    p->onSettle([s = st, results, left, answers, name, args, t0](const Promise& q) {
      if (s->done) return;
      double ms = msSince(t0);
      for (const auto& [slot, callId] : answers) {
        Value rec = Value::object({{"id", callId}, {"name", name}, {"arguments", args}, {"ok", q.fulfilled()}, {"duration_ms", ms}});
        Value toolMsg = Value::object({{"role", "tool"}, {"tool_call_id", callId}, {"name", name}});
        if (q.fulfilled()) {
          rec.asObject().set("result", q.value());
          toolMsg.asObject().set("content", resultText(q.value()));
        } else {
          Value err = Value::object({{"code", q.error().code}, {"message", q.error().message}});
          rec.asObject().set("error", err);
          toolMsg.asObject().set("content", "error (" + q.error().code + "): " + q.error().message);
          toolMsg.asObject().set("is_error", true);
        }
        if (s->onEvent) {
          Value ev = Value::object({{"type", "tool_result"}, {"id", callId}, {"name", name}, {"ok", q.fulfilled()}});
          ev.asObject().set(q.fulfilled() ? "result" : "error", q.fulfilled() ? q.value() : rec.get("error"));
          s->onEvent(ev);
        }
        s->toolCalls.asArray().push(rec);
        (*results)[slot] = std::move(toolMsg);
      }
      if (--*left == 0) {
        for (auto& m : *results) s->messages.asArray().push(std::move(m));
        s->inflight.clear();
        s->self->step(s);
      }
    });
    if (st->done) return;  // a synchronous settle finished or cancelled the run
  }
  if (*left > 0) st->inflight = std::move(ps);
}

void Agent::finish(const std::shared_ptr<RunState>& st, const std::string& status, const std::string& why) {
  st->done = true;
  st->deadline.cancel();
  // Memory: everything after the system prompt.
  if (cfg_.memory != "none") {
    auto h = Value::array();
    const auto& all = st->messages.asArray();
    for (size_t i = st->historyFrom; i < all.size(); ++i) h.asArray().push(all[i]);
    history_ = h;
  }
  Value usage = usageZero();
  usage.asObject().set("input_tokens", st->inputTokens);
  usage.asObject().set("output_tokens", st->outputTokens);
  usage.asObject().set("total_tokens", st->totalTokens);
  // A run stopped by a guard says why: in `error`, and in `text` when the model said nothing
  // (its last turn only asked for tools), so a spell that prints the answer shows the reason.
  Value r = Value::object({{"text", st->lastText.empty() ? why : st->lastText}, {"status", status}, {"agent", cfg_.name},
                           {"iterations", int64_t{st->iteration}}, {"tool_calls", st->toolCalls},
                           {"messages", st->messages}, {"usage", usage}, {"cost_usd", st->cost},
                           {"duration_ms", msSince(st->start)}});
  if (!why.empty()) r.asObject().set("error", Value::object({{"code", std::string(codes::kLimitExceeded)}, {"message", why}}));
  if (st->lastReply.isObject()) {
    if (!st->lastReply.get("output").isNull()) r.asObject().set("output", st->lastReply.get("output"));
    r.asObject().set("model", st->lastReply.get("model"));
  }
  if (bus_)
    bus_->emit("agent.finish", Value::object({{"agent", cfg_.name}, {"status", status}, {"iterations", int64_t{st->iteration}},
                                              {"usage", usage}, {"cost_usd", st->cost}}));
  if (st->onEvent) st->onEvent(Value::object({{"type", "done"}, {"status", status}}));
  st->result->resolve(std::move(r));
}

}  // namespace llmspell::agent

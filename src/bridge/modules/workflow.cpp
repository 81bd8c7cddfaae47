// `workflow` namespace and `workflow` objects: the script face of the workflow layer. Steps
// given by a spell become workflow::Step callables here: script functions, tables
// {name, run, on_error, timeout}, tool names, host objects with a `run` method (agents,
// workflows) and, for declarative workflows, names resolved when the step runs. Tools and
// agents are reached only through the registry (`tools.call`, `agent.get`, `<type>:run`), so
// this module depends on no header of theirs.
#include <map>

#include "bridge/schema_shape.hpp"
#include "llmspell/bridge/registry.hpp"
#include "llmspell/core/convert.hpp"
#include "llmspell/events/bus.hpp"
#include "llmspell/hooks/hooks.hpp"
#include "llmspell/workflow/workflow.hpp"

namespace llmspell {

namespace {

using workflow::Config;
using workflow::Kind;
using workflow::Step;
using workflow::StepEnv;
using workflow::Workflow;
using workflow::WorkflowPtr;

class WorkflowObject : public HostObject {
 public:
  explicit WorkflowObject(WorkflowPtr w) : w(std::move(w)) {}
  std::string_view typeName() const override { return "workflow"; }
  WorkflowPtr w;
};

// The workflows of a run that have a name (workflow.get / list, declarative references).
struct WorkflowNames {
  std::map<std::string, WorkflowPtr> byName;
};
WorkflowNames& namesOf(RunContext& run) {
  return run.service<WorkflowNames>([] { return std::make_shared<WorkflowNames>(); });
}

const WorkflowPtr& workflowOf(const Value& v) {
  auto* o = v.isHandle() ? dynamic_cast<WorkflowObject*>(v.asHandle().get()) : nullptr;
  if (!o) fail(codes::kInvalidArgument, "expected a workflow, got " + v.describe());
  return o->w;
}

Value handleOf(WorkflowPtr w) { return Value(HostObjectPtr(std::make_shared<WorkflowObject>(std::move(w)))); }

RunContext& hostRun(StepEnv& env) {
  if (!env.run.host)
    fail(codes::kInternal, "workflow step '" + env.step + "' needs the spell's run context");
  return *static_cast<RunContext*>(env.run.host);
}

workflow::RunEnv runEnvFor(RunContext& run) {
  workflow::RunEnv env{run.loop(), &hooksFor(run), &busFor(run), &run, run.usageScope};
  env.journal = run.findService<Journal>();
  if (env.journal && run.usageScope) env.journalPath = env.journal->pathOf(run.usageScope.get());
  return env;
}

// Calls a registry declaration with positional arguments (validated as the engines would).
PromisePtr callDecl(const FunctionDecl& d, RunContext& run, std::vector<Value> args) {
  if (auto err = Registry::validate(d, args)) return Promise::rejected(*err);
  CallContext cx{run, run.loop(), d.qualifiedName()};
  if (d.async) return Registry::callAsync(d, cx, Args(args));
  ErrorPtr err;
  Value v = Registry::callSync(d, cx, Args(args), err);
  return err ? Promise::rejected(*err) : Promise::resolved(std::move(v));
}

// Tool arguments from a step input: an object is the arguments; anything else is {input = x},
// unless the step has fixed `args`, which then are the arguments. Fixed args win over the
// input's fields (the author wrote them for this step).
Value toolArgs(const Value& fixed, const Value& input) {
  Value a = input.isObject() ? input.deepCopy() : Value::object();
  if (!input.isObject() && !input.isNull() && !fixed.isObject()) a.asObject().set("input", input);
  if (fixed.isObject())
    for (const auto& [k, v] : fixed.asObject()) a.asObject().set(k, v);
  return a;
}

PromisePtr callTool(RunContext& run, const std::string& tool, const Value& fixed, const Value& input) {
  const FunctionDecl* d = Registry::global().find("tools.call");
  if (!d)
    return Promise::rejected(Error(codes::kNotFound, "tool step '" + tool +
                                                         "': this build has no tool registry (tools.call)"));
  return callDecl(*d, run, {Value(tool), toolArgs(fixed, input)});
}

// An agent's (or any run-method object's) result as a step output: agents give
// {text, output, usage, cost_usd, ...}; the step passes on `output` when there is one, else
// `text`, and accounts usage and cost itself.
PromisePtr callRunMethod(RunContext& run, const Value& handle, const Value& input, StepEnv& env) {
  std::string type(handle.asHandle()->typeName());
  const FunctionDecl* d = Registry::global().find(type + ":run");
  if (!d) return Promise::rejected(Error(codes::kInvalidArgument, "a " + type + " object has no run method"));
  PromisePtr p = callDecl(*d, run, {handle, input});
  if (type != "agent") return p;
  auto q = Promise::create();
  StepEnv* pe = &env;  // valid until q settles
  p->onSettle([q, pe](const Promise& r) {
    if (r.rejected()) {
      const_cast<Promise&>(r).markHandled();
      q->reject(r.error());
      return;
    }
    const Value& v = r.value();
    if (!v.isObject()) {
      q->resolve(v);
      return;
    }
    pe->accounted = true;
    pe->usage = v.get("usage");
    pe->costUsd = v.getNumber("cost_usd", 0);
    pe->details = Value::object({{"result", v}});
    q->resolve(!v.get("output").isNull() ? v.get("output") : v.get("text"));
  });
  q->setCanceller([p] { if (p->pending()) p->cancel(); });
  return q;
}

// Looks up an agent by name through the registry's agent.get (the agent layer may be absent).
Value findAgent(RunContext& run, const std::string& name, bool required) {
  const FunctionDecl* d = Registry::global().find("agent.get");
  if (!d || d->async) {
    if (required) fail(codes::kNotFound, "agent '" + name + "': this build has no agent registry (agent.get)");
    return Value();
  }
  std::vector<Value> args{Value(name)};
  if (auto err = Registry::validate(*d, args)) throw Exception(*err);
  CallContext cx{run, run.loop(), d->qualifiedName()};
  ErrorPtr err;
  Value h = Registry::callSync(*d, cx, Args(args), err);
  if ((err || !h.isHandle()) && required)
    fail(codes::kNotFound, "no agent named '" + name + "'" + (err ? " (" + err->message + ")" : ""));
  return err ? Value() : h;
}

// The name of a host object: its type's `name` method, else the `name` field of `info`.
std::string nameOfHandle(RunContext& run, const Value& h) {
  std::string type(h.asHandle()->typeName());
  for (const char* m : {":name", ":info"}) {
    const FunctionDecl* d = Registry::global().find(type + m);
    if (!d || d->async) continue;
    std::vector<Value> args{h};
    if (Registry::validate(*d, args)) continue;
    CallContext cx{run, run.loop(), d->qualifiedName()};
    ErrorPtr err;
    Value v = Registry::callSync(*d, cx, Args(args), err);
    if (err) continue;
    if (v.isString()) return v.asString();
    if (v.get("name").isString()) return v.get("name").asString();
  }
  return "";
}

// A step run in a usage scope of its own, under the workflow's: the model calls it makes, in a
// step function, a script tool, an agent or anything they spawn, count as the step's usage even
// when its output does not carry them. The scope sees every call an agent's or a nested
// workflow's result counts, and more (model calls inside the agent's script tools), so when it
// saw any call it replaces what the step accounted from a result.
workflow::StepRun inUsageScope(workflow::StepRun run) {
  return [run = std::move(run)](Value in, StepEnv& env) -> PromisePtr {
    RunContext& rc = hostRun(env);
    auto scope = std::make_shared<UsageScope>(env.run.usageScope);
    // In a durable run, the model and tool calls the step makes are keyed under the step's key.
    Journal* journal = env.journalKey.empty() ? nullptr : env.run.journal;
    if (journal) journal->bind(scope.get(), env.journalKey);
    PromisePtr p;
    {
      UsageScopeGuard g(rc, scope);
      p = run(std::move(in), env);
    }
    StepEnv* pe = &env;  // valid until q settles
    auto q = Promise::create();
    p->onSettle([q, pe, scope, journal](const Promise& r) {
      if (journal) journal->unbind(scope.get());
      if (scope->calls > 0) {
        pe->accounted = true;
        pe->usage = scope->usage;
        pe->costUsd = scope->costUsd;
      }
      if (r.rejected()) {
        const_cast<Promise&>(r).markHandled();
        q->reject(r.error());
      } else {
        q->resolve(r.value());
      }
    });
    q->setCanceller([p] { if (p->pending()) p->cancel(); });
    return q;
  };
}

Step toolStep(std::string tool, Value fixed) {
  Step s;
  s.name = tool;
  s.kind = "tool";
  s.spec = Value::object({{"tool", tool}});
  if (fixed.isObject()) s.spec.asObject().set("args", fixed);
  s.run = inUsageScope([tool, fixed](Value in, StepEnv& env) { return callTool(hostRun(env), tool, fixed, in); });
  return s;
}

Step agentStep(std::string agentName) {
  Step s;
  s.name = agentName;
  s.kind = "agent";
  s.spec = Value::object({{"agent", agentName}});
  s.run = inUsageScope([agentName](Value in, StepEnv& env) {
    RunContext& run = hostRun(env);
    return callRunMethod(run, findAgent(run, agentName, true), in, env);
  });
  return s;
}

// A name resolved when the step runs: a workflow registered in this run, else an agent, else a
// tool (tools.call reports an unknown tool as not_found).
Step refStep(std::string name, std::string kind) {
  Step s;
  s.name = name;
  s.kind = kind;
  s.spec = kind == "workflow" ? Value::object({{"workflow", name}}) : Value::object({{"ref", name}});
  s.run = inUsageScope([name, kind](Value in, StepEnv& env) -> PromisePtr {
    RunContext& run = hostRun(env);
    auto& names = namesOf(run).byName;
    if (auto it = names.find(name); it != names.end()) {
      workflow::RunEnv ne = env.run.nested();
      ne.usageScope = run.usageScope;  // the step's: the nested run's calls count in it
      ne.journalPath = env.journalKey;
      PromisePtr np = it->second->run(std::move(in), ne);
      auto q = Promise::create();
      StepEnv* pe = &env;
      np->onSettle([q, pe](const Promise& r) {
        if (r.rejected()) {
          const_cast<Promise&>(r).markHandled();
          q->reject(r.error());
          return;
        }
        const Value& res = r.value();
        pe->accounted = true;
        pe->usage = res.get("usage");
        pe->costUsd = res.getNumber("cost_usd", 0);
        pe->details = Value::object({{"steps", res.get("steps")}});
        std::string st = res.getString("status");
        if (st == "completed") q->resolve(res.get("output"));
        else if (st == "cancelled") q->reject(Error(codes::kCancelled, "workflow '" + pe->step + "' cancelled"));
        else q->reject(Error::fromValue(res.get("error")));
      });
      q->setCanceller([np] { if (np->pending()) np->cancel(); });
      return q;
    }
    if (kind == "workflow")
      return Promise::rejected(Error(codes::kNotFound, "no workflow named '" + name + "' in this run"));
    Value agent = findAgent(run, name, false);
    if (agent.isHandle()) return callRunMethod(run, agent, in, env);
    if (!Registry::global().find("tools.call"))
      return Promise::rejected(Error(codes::kNotFound, "no workflow, agent or tool named '" + name + "'"));
    return callTool(run, name, Value(), in);
  });
  return s;
}

// Conditions and merges run in the workflow's usage scope (they are no step's).
workflow::ValueFn scriptFn(FunctionPtr fn) {
  return [fn](std::vector<Value> args, StepEnv& env) {
    UsageScopeGuard g(hostRun(env), env.run.usageScope);
    return fn->call(std::move(args));
  };
}

std::string where(const std::string& wf, const std::string& what) { return "workflow '" + wf + "': " + what; }

Step stepFromValue(RunContext& run, const Value& v, const std::string& wf, const std::string& label);

// Applies the common step fields {name, on_error, timeout} of a table.
void applyStepFields(Step& s, const Value& t, const std::string& wf, const std::string& label) {
  const Value& n = t.get("name");
  if (!n.isNull()) {
    if (!n.isString() || n.asString().empty())
      fail(codes::kInvalidArgument, where(wf, label + ": name must be a non-empty string"));
    s.name = n.asString();
  }
  s.onError = workflow::ErrorPolicy::fromValue(t.get("on_error"), where(wf, label));
  const Value& to = t.get("timeout");
  if (!to.isNull()) {
    if (!to.isNumber() || to.asNumber() <= 0)
      fail(codes::kInvalidArgument, where(wf, label + ": timeout must be a number of seconds > 0"));
    s.timeout = to.asNumber();
  }
}

Step stepFromValue(RunContext& run, const Value& v, const std::string& wf, const std::string& label) {
  if (v.isFunction()) {
    return Step::fn("", inUsageScope([fn = v.asFunction()](Value in, StepEnv& env) {
      return fn->call({std::move(in), env.ctxValue()});
    }));
  }
  if (v.isString()) {
    if (v.asString().empty()) fail(codes::kInvalidArgument, where(wf, label + ": empty tool name"));
    return toolStep(v.asString(), Value());
  }
  if (v.isHandle()) {
    if (auto* wo = dynamic_cast<WorkflowObject*>(v.asHandle().get())) return Step::nested(wo->w);
    std::string type(v.asHandle()->typeName());
    if (!Registry::global().find(type + ":run"))
      fail(codes::kInvalidArgument,
           where(wf, label + ": a " + type + " object cannot be a step (it has no run method)"));
    Step s;
    std::string hname = nameOfHandle(run, v);
    s.name = hname.empty() ? type : hname;
    s.kind = type == "agent" ? "agent" : "handle";
    s.spec = type == "agent" && !hname.empty() ? Value::object({{"agent", hname}})
                                               : Value::object({{"type", type}});
    s.run = inUsageScope([h = v](Value in, StepEnv& env) { return callRunMethod(hostRun(env), h, in, env); });
    return s;
  }
  if (v.isObject()) {
    const Value& r = v.get("run");
    Step s;
    if (!r.isNull()) {
      s = stepFromValue(run, r, wf, label + ".run");
    } else if (v.get("tool").isString()) {
      s = toolStep(v.get("tool").asString(), v.get("args"));
    } else if (v.get("agent").isString()) {
      s = agentStep(v.get("agent").asString());
    } else if (v.get("agent").isHandle()) {
      s = stepFromValue(run, v.get("agent"), wf, label + ".agent");
    } else if (v.get("workflow").isString()) {
      s = refStep(v.get("workflow").asString(), "workflow");
    } else if (v.get("workflow").isHandle()) {
      s = Step::nested(workflowOf(v.get("workflow")));
    } else {
      fail(codes::kInvalidArgument,
           where(wf, label + ": a step table needs run (a function, tool name or object), tool, "
                             "agent or workflow"));
    }
    applyStepFields(s, v, wf, label);
    return s;
  }
  fail(codes::kInvalidArgument,
       where(wf, label + ": a step is a function, a tool name, an agent, a workflow or a table "
                         "{name, run}, got " + v.describe()));
}

workflow::Condition condFromValue(const Value& v, const std::string& wf, const std::string& label) {
  workflow::Condition c;
  if (v.isFunction()) {
    c.fn = scriptFn(v.asFunction());
    return c;
  }
  if (v.isNull()) fail(codes::kInvalidArgument, where(wf, label + " is missing"));
  c.spec = v;
  return c;
}

std::vector<Value> listOf(const Value& v, const std::string& wf, const char* field) {
  if (v.isNull()) return {};
  if (v.isObject() && v.asObject().empty()) return {};
  if (!v.isArray()) fail(codes::kInvalidArgument, where(wf, std::string(field) + " must be a list, got " + v.describe()));
  return v.asArray().items();
}

size_t sizeField(const Value& cfg, const char* field, const std::string& wf) {
  const Value& v = cfg.get(field);
  if (v.isNull()) return 0;
  if (!v.isNumber() || v.asNumber() < 1 || v.asNumber() != static_cast<double>(static_cast<int64_t>(v.asNumber())))
    fail(codes::kInvalidArgument, where(wf, std::string(field) + " must be an integer >= 1"));
  return static_cast<size_t>(v.asNumber());
}

// Lua cannot write `while` / `until` as table keys without brackets: `while_` / `until_` too.
const Value& keyOrAlias(const Value& cfg, const char* key, const char* alias) {
  const Value& v = cfg.get(key);
  return v.isNull() ? cfg.get(alias) : v;
}

const std::vector<std::string>& knownFields(Kind k) {
  static const std::vector<std::string> seq{"name", "steps", "on_error", "description"};
  static const std::vector<std::string> par{"name", "steps", "on_error", "max_concurrency", "merge", "description"};
  static const std::vector<std::string> cond{"name", "branches", "otherwise", "on_error", "description"};
  static const std::vector<std::string> loop{"name", "step", "times", "items", "while", "until", "while_",
                                             "until_", "max_iterations", "on_error", "description"};
  static const std::vector<std::string> map{"name", "step", "items", "concurrency", "on_error", "description"};
  switch (k) {
    case Kind::kSequential: return seq;
    case Kind::kParallel: return par;
    case Kind::kConditional: return cond;
    case Kind::kLoop: return loop;
    case Kind::kMap: return map;
  }
  return seq;
}

WorkflowPtr buildFromScript(RunContext& run, Kind kind, const Value& cfg) {
  Config c;
  c.kind = kind;
  const Value& n = cfg.get("name");
  if (!n.isNull() && (!n.isString() || n.asString().empty()))
    fail(codes::kInvalidArgument, "workflow." + std::string(workflow::kindName(kind)) + ": name must be a non-empty string");
  c.name = n.isString() ? n.asString() : std::string(workflow::kindName(kind));
  const std::string& wf = c.name;
  for (const auto& [k, _] : cfg.asObject()) {
    const auto& known = knownFields(kind);
    if (std::find(known.begin(), known.end(), k) == known.end())
      fail(codes::kInvalidArgument, where(wf, "unknown field '" + k + "' for a " +
                                                  std::string(workflow::kindName(kind)) + " workflow"));
  }
  c.onError = workflow::ErrorPolicy::fromValue(cfg.get("on_error"), "workflow '" + wf + "'");
  c.onError.set = true;
  switch (kind) {
    case Kind::kSequential:
    case Kind::kParallel: {
      auto steps = listOf(cfg.get("steps"), wf, "steps");
      for (size_t i = 0; i < steps.size(); ++i)
        c.steps.push_back(stepFromValue(run, steps[i], wf, "step " + std::to_string(i + 1)));
      if (kind == Kind::kParallel) {
        c.maxConcurrency = sizeField(cfg, "max_concurrency", wf);
        const Value& m = cfg.get("merge");
        if (m.isFunction()) {
          c.merge = "function";
          c.mergeFn = scriptFn(m.asFunction());
        } else if (m.isString()) {
          c.merge = m.asString();
        } else if (!m.isNull()) {
          fail(codes::kInvalidArgument, where(wf, "merge must be \"list\", \"object\" or a function"));
        }
      }
      break;
    }
    case Kind::kConditional: {
      auto bs = listOf(cfg.get("branches"), wf, "branches");
      for (size_t i = 0; i < bs.size(); ++i) {
        std::string label = "branch " + std::to_string(i + 1);
        const Value& b = bs[i];
        Value when, step;
        if (b.isArray() && b.asArray().size() == 2) {
          when = b.asArray()[0];
          step = b.asArray()[1];
        } else if (b.isObject()) {
          when = b.get("when");
          step = b.get("step");
        } else {
          fail(codes::kInvalidArgument, where(wf, label + ": expected {when = fn, step = ...}"));
        }
        if (step.isNull()) fail(codes::kInvalidArgument, where(wf, label + ": step is missing"));
        c.branches.push_back({condFromValue(when, wf, label + " `when`"),
                              stepFromValue(run, step, wf, label)});
      }
      if (!cfg.get("otherwise").isNull())
        c.otherwise = stepFromValue(run, cfg.get("otherwise"), wf, "otherwise");
      break;
    }
    case Kind::kLoop:
    case Kind::kMap: {
      if (cfg.get("step").isNull()) fail(codes::kInvalidArgument, where(wf, "step is missing"));
      c.body = stepFromValue(run, cfg.get("step"), wf, "step");
      const Value& items = cfg.get("items");
      if (!items.isNull()) {
        if (items.isObject() && items.asObject().empty()) c.items = Value::array();
        else if (!items.isArray()) fail(codes::kInvalidArgument, where(wf, "items must be a list"));
        else c.items = items;
      }
      if (kind == Kind::kMap) {
        c.concurrency = sizeField(cfg, "concurrency", wf);
        break;
      }
      const Value& t = cfg.get("times");
      if (!t.isNull()) {
        if (!t.isNumber() || t.asNumber() < 0 || t.asNumber() != static_cast<double>(static_cast<int64_t>(t.asNumber())))
          fail(codes::kInvalidArgument, where(wf, "times must be an integer >= 0"));
        c.times = static_cast<int64_t>(t.asNumber());
      }
      const Value& w = keyOrAlias(cfg, "while", "while_");
      if (!w.isNull()) c.whileCond = condFromValue(w, wf, "while");
      const Value& u = keyOrAlias(cfg, "until", "until_");
      if (!u.isNull()) c.untilCond = condFromValue(u, wf, "until");
      if (!cfg.get("max_iterations").isNull())
        c.maxIterations = static_cast<int64_t>(sizeField(cfg, "max_iterations", wf));
      break;
    }
  }
  auto w = Workflow::create(std::move(c));
  if (n.isString()) namesOf(run).byName[w->name()] = w;
  return w;
}

// Declarative steps: names and {tool}, {agent}, {workflow}, {ref} tables.
workflow::StepResolver resolverFor() {
  return [](const Value& spec) -> Step {
    if (spec.isString()) {
      if (spec.asString().empty()) fail(codes::kInvalidArgument, "a step name is empty");
      return refStep(spec.asString(), "ref");
    }
    if (!spec.isObject())
      fail(codes::kInvalidArgument, "a declarative step is a name or a table, got " + spec.describe());
    std::string label = spec.getString("name", "a step");
    std::string kind = spec.getString("kind", "");
    Step s;
    if (spec.get("tool").isString()) s = toolStep(spec.get("tool").asString(), spec.get("args"));
    else if (spec.get("agent").isString()) s = agentStep(spec.get("agent").asString());
    else if (spec.get("workflow").isString()) s = refStep(spec.get("workflow").asString(), "workflow");
    else if (spec.get("ref").isString()) s = refStep(spec.get("ref").asString(), "ref");
    else if (kind == "handle")
      fail(codes::kInvalidArgument, "step '" + label + "' was a " + spec.getString("type", "host") +
                                        " object, which a declarative workflow cannot name");
    else
      fail(codes::kInvalidArgument,
           "step '" + label + "': expected a name, {tool}, {agent}, {workflow}, {ref} or an inline "
           "workflow {type = ...}");
    return s;
  };
}

WorkflowPtr buildDeclarative(RunContext& run, const Value& spec) {
  auto w = Workflow::fromValue(spec, resolverFor());
  if (spec.get("name").isString()) namesOf(run).byName[w->name()] = w;
  return w;
}

void registerKind(Registry& r, const char* name, Kind kind, const char* doc, const char* cfgDoc) {
  const auto& fields = knownFields(kind);
  r.fn("workflow", name)
      .param("config", optionsSchema(std::vector<std::string_view>(fields.begin(), fields.end())), cfgDoc)
      .returns("workflow")
      .doc(doc)
      .sync([kind](CallContext& cx, Args a) -> Value { return handleOf(buildFromScript(cx.run, kind, a[0])); });
}

}  // namespace

void llmspell_register_workflow(Registry& r) {
  r.type("workflow",
         "Steps run in sequence, in parallel, by condition, in a loop or over a list: run, to_json, "
         "cancel, name");

  registerKind(r, "sequential", Kind::kSequential,
               "A workflow whose steps run one after the other: the output of one is the input of the next",
               "{name, steps, on_error}; a step is a function(input, ctx), a tool name, an agent, a "
               "workflow, or {name, run, on_error, timeout}");
  registerKind(r, "parallel", Kind::kParallel,
               "A workflow whose steps run at the same time on the same input",
               "{name, steps, max_concurrency, merge = \"list\" | \"object\" | fn(records, input), on_error}");
  registerKind(r, "conditional", Kind::kConditional,
               "A workflow that runs the step of the first branch whose `when` holds",
               "{name, branches = {{when = fn(input) | {path, equals...}, step}...}, otherwise, on_error}");
  registerKind(r, "loop", Kind::kLoop,
               "A workflow that repeats a step: times, over items, while or until a condition "
               "(`while_` / `until_` are accepted for Lua)",
               "{name, step, times | items | while = fn(value, i) | until = fn(output, i), max_iterations "
               "(default 100), on_error}");
  registerKind(r, "map", Kind::kMap, "A workflow that runs a step for every item, concurrently",
               "{name, step, items (default: the input list), concurrency, on_error}");

  r.method("workflow", "run")
      .param("self", R"({"type":"handle"})")
      .opt("input", R"({})", "the first step's input")
      .opt("opts", R"({"type":"object"})", "timeout (seconds)")
      .returns("{output, status = \"completed\" | \"failed\" | \"cancelled\", steps = {{name, status, "
               "output, error, duration_ms, attempts, usage, cost_usd, ...}}, usage, cost_usd, duration_ms, error}")
      .doc("Runs the workflow; a failed step (after on_error) gives status \"failed\" and `error`")
      .async([](CallContext& cx, Args a) -> PromisePtr {
        return workflowOf(a[0])->run(a[1], runEnvFor(cx.run));
      });
  r.method("workflow", "cancel")
      .param("self", R"({"type":"handle"})")
      .returns("the number of runs stopped")
      .doc("Stops the runs of this workflow in flight: their steps are cancelled and they end with status \"cancelled\"")
      .sync([](CallContext&, Args a) -> Value {
        return Value(static_cast<int64_t>(workflowOf(a[0])->cancel()));
      });
  r.method("workflow", "name")
      .param("self", R"({"type":"handle"})")
      .returns("string")
      .doc("The workflow's name")
      .sync([](CallContext&, Args a) -> Value { return Value(workflowOf(a[0])->name()); });
  r.method("workflow", "to_json")
      .param("self", R"({"type":"handle"})")
      .opt("opts", R"({"type":"object","properties":{"pretty":{"type":"boolean"}}})", "pretty: indented")
      .returns("JSON text")
      .doc("The workflow's structure as JSON (steps by name; function steps as {name, kind = \"function\"})")
      .sync([](CallContext&, Args a) -> Value {
        JsonOptions o;
        o.pretty = a[1].getBool("pretty", false);
        return Value(toJsonText(workflowOf(a[0])->toValue(), o));
      });
  r.method("workflow", "spec")
      .param("self", R"({"type":"handle"})")
      .returns("table")
      .doc("The workflow's structure as a table (what to_json encodes)")
      .sync([](CallContext&, Args a) -> Value { return workflowOf(a[0])->toValue(); });

  r.fn("workflow", "from_json")
      .param("source", R"({"type":["string","object"]})", "JSON text (or an already decoded table)")
      .returns("workflow")
      .doc("A workflow from its declarative form: steps are names of tools, agents or workflows "
           "of this run, or inline workflows")
      .sync([](CallContext& cx, Args a) -> Value {
        return handleOf(buildDeclarative(cx.run, a[0].isString() ? parseJson(a[0].asString()) : a[0]));
      });
  r.fn("workflow", "from_yaml")
      .param("source", R"({"type":"string"})", "YAML text")
      .returns("workflow")
      .doc("A workflow from YAML (the same form as from_json)")
      .sync([](CallContext& cx, Args a) -> Value {
        return handleOf(buildDeclarative(cx.run, parseYaml(a[0].asString())));
      });
  r.fn("workflow", "get")
      .param("name", R"({"type":"string"})")
      .returns("workflow, or nil")
      .doc("A named workflow created in this run")
      .sync([](CallContext& cx, Args a) -> Value {
        auto& names = namesOf(cx.run).byName;
        auto it = names.find(a[0].asString());
        return it == names.end() ? Value() : handleOf(it->second);
      });
  r.fn("workflow", "list")
      .returns("list of names")
      .doc("The named workflows created in this run, sorted")
      .sync([](CallContext& cx, Args) -> Value {
        std::vector<Value> out;
        for (const auto& [k, _] : namesOf(cx.run).byName) out.emplace_back(k);
        return Value::array(std::move(out));
      });
}

}  // namespace llmspell

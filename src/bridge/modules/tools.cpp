// `tools` namespace: the script face of the run's ToolRegistry (tools::toolsFor(run)): defining
// tools in the spell, validated / approved / hooked calls, discovery, composition helpers and
// checking helpers. Script tool functions are called as run(args, ctx) on the run's loop.
#include <algorithm>
#include <chrono>
#include <cmath>

#include "bridge/schema_shape.hpp"
#include "llmspell/bridge/registry.hpp"
#include "llmspell/core/convert.hpp"
#include "llmspell/tools/tools.hpp"

namespace llmspell {

namespace {

using tools::Tool;
using tools::ToolPtr;
using tools::ToolRegistry;

ToolRegistry& reg(RunContext& run) {
  return tools::toolsFor(run);
}

double nowMs() {
  using namespace std::chrono;
  return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

// A tool from a script table {name, description, parameters, run, timeout, requires_approval, side_effects,
// category, examples, permission}.
Tool toolFromSpec(const Value& spec, const std::string& fallbackName = "") {
  if (!spec.isObject())
    fail(codes::kInvalidArgument, "tools.define: expected a table, got " + spec.describe());
  Tool t;
  const Value& name = spec.get("name");
  if (name.isNull() && !fallbackName.empty()) {
    t.name = fallbackName;
  } else if (!name.isString()) {
    fail(codes::kInvalidArgument, "tools.define: name must be a string, got " + name.describe());
  } else {
    t.name = name.asString();
  }
  auto str = [&](const char* k, std::string& out) {
    const Value& v = spec.get(k);
    if (v.isNull()) return;
    if (!v.isString())
      fail(codes::kInvalidArgument,
           "tools.define '" + t.name + "': " + k + " must be a string, got " + v.describe());
    out = v.asString();
  };
  str("description", t.description);
  str("category", t.category);
  str("permission", t.permission);
  t.parameters = spec.get("parameters");
  if (t.parameters.isString()) t.parameters = parseJson(t.parameters.asString());
  t.parameters = schemaFromScript(t.parameters);
  t.examples = spec.get("examples");
  if (t.examples.isObject() && t.examples.asObject().empty()) t.examples = Value::array();  // {} in Lua
  if (!t.examples.isNull() && !t.examples.isArray())
    fail(codes::kInvalidArgument,
         "tools.define '" + t.name + "': examples must be a list of {args, result, description}");
  const Value& timeout = spec.get("timeout");
  if (!timeout.isNull()) {
    if (!timeout.isNumber() || timeout.asNumber() < 0)
      fail(codes::kInvalidArgument,
           "tools.define '" + t.name + "': timeout must be a number of seconds >= 0");
    t.timeoutSeconds = timeout.asNumber();
  }
  t.requiresApproval = spec.get("requires_approval").truthy();
  t.sideEffects = spec.get("side_effects").truthy();
  const Value& run = spec.get("run");
  if (!run.isFunction())
    fail(codes::kInvalidArgument, "tools.define '" + t.name +
                                      "': run must be a function run(args, ctx), got " +
                                      run.describe());
  FunctionPtr fn = run.asFunction();
  t.run = [fn](const Value& args, tools::ToolEnv& env) { return fn->call({args, env.ctx}); };
  return t;
}

Value infoList(const std::vector<ToolPtr>& ts) {
  std::vector<Value> out;
  out.reserve(ts.size());
  for (const auto& t : ts) out.push_back(tools::toolInfo(*t));
  return Value::array(std::move(out));
}

Value callerCtx(const Value& opts) {
  Value ctx = Value::object({{"caller", "spell"}});
  if (opts.get("ctx").isObject())
    for (const auto& [k, v] : opts.get("ctx").asObject()) ctx.asObject().set(k, v);
  return ctx;
}

// Settles `out` with {ok, result} / {ok = false, error}.
PromisePtr settled(const PromisePtr& p) {
  auto out = Promise::create();
  out->setCanceller([p] { p->cancel(); });
  p->onSettle([out](const Promise& q) {
    if (q.rejected()) {
      const_cast<Promise&>(q).markHandled();
      out->resolve(Value::object({{"ok", false}, {"error", q.error().toObject()}}));
    } else {
      out->resolve(Value::object({{"ok", true}, {"result", q.value()}}));
    }
  });
  return out;
}

// One pipeline step: a tool name (called with the previous output as its arguments), a table
// {tool, args, input} (args as given; `input` names the argument that receives the previous
// output) or a function fn(previous) whose result is the next output.
PromisePtr runStep(RunContext& run, const Value& step, const Value& prev) {
  if (step.isFunction()) return step.asFunction()->call({prev});
  if (step.isString()) {
    Value args = prev.isObject() ? prev : Value::object({{"input", prev}});
    return reg(run).call(step.asString(), args, Value::object({{"caller", "pipeline"}}));
  }
  if (step.isObject()) {
    std::string name = step.getString("tool", step.getString("name"));
    if (name.empty())
      return Promise::rejected(
          Error(codes::kInvalidArgument, "a pipeline step table needs tool = \"name\""));
    Value args = step.get("args").isObject() ? step.get("args").deepCopy() : Value::object();
    if (step.get("input").isString()) args.asObject().set(step.getString("input"), prev);
    return reg(run).call(name, args, Value::object({{"caller", "pipeline"}}));
  }
  return Promise::rejected(
      Error(codes::kInvalidArgument,
            "a pipeline step is a tool name, a table {tool, args, input} or a function, got " +
                step.describe()));
}

std::string stepName(const Value& step) {
  if (step.isString()) return step.asString();
  if (step.isObject()) return step.getString("tool", step.getString("name"));
  return "function";
}

struct PipelineState {
  RunContext* run;
  Value steps;
  size_t i = 0;
  PromisePtr out;
  PromisePtr current;
};

void pipelineNext(const std::shared_ptr<PipelineState>& st, Value prev) {
  const auto& steps = st->steps.asArray();
  if (st->i >= steps.size()) {
    st->out->resolve(prev);
    return;
  }
  size_t idx = st->i++;
  const Value& step = steps[idx];
  PromisePtr p = runStep(*st->run, step, prev);
  st->current = p;
  p->onSettle([st, idx, step](const Promise& q) {
    if (!st->out->pending()) return;
    if (q.rejected()) {
      const_cast<Promise&>(q).markHandled();
      Error e = q.error();
      e.message =
          "pipeline step " + std::to_string(idx + 1) + " (" + stepName(step) + "): " + e.message;
      Value d = e.details.isObject() ? e.details.deepCopy() : Value::object();
      d.asObject().set("step", static_cast<int64_t>(idx + 1));
      e.details = d;
      st->out->reject(std::move(e));
      return;
    }
    pipelineNext(st, q.value());
  });
}

PromisePtr pipeline(RunContext& run, const Value& steps, const Value& input) {
  if (!steps.isArray() || steps.asArray().empty())
    return Promise::rejected(
        Error(codes::kInvalidArgument, "tools.pipeline: steps must be a non-empty list"));
  auto st = std::make_shared<PipelineState>();
  st->run = &run;
  st->steps = steps;
  st->out = Promise::create();
  std::weak_ptr<PipelineState> weak = st;
  st->out->setCanceller([weak] {
    if (auto s = weak.lock())
      if (s->current) s->current->cancel();
  });
  pipelineNext(st, input);
  return st->out;
}

// Matches `got` against `want`: objects match when every key of `want` matches (extra keys in
// the result are fine), everything else by equality.
bool subsetMatch(const Value& want, const Value& got) {
  if (want.isObject() && got.isObject()) {
    for (const auto& [k, v] : want.asObject()) {
      const Value* g = got.asObject().find(k);
      if (!g || !subsetMatch(v, *g)) return false;
    }
    return true;
  }
  if (want.isArray() && got.isArray()) {
    if (want.asArray().size() != got.asArray().size()) return false;
    for (size_t i = 0; i < want.asArray().size(); ++i)
      if (!subsetMatch(want.asArray()[i], got.asArray()[i])) return false;
    return true;
  }
  return want == got;
}

std::string show(const Value& v) {
  try {
    return toJsonText(v);
  } catch (const Exception&) {
    return v.describe();
  }
}

}  // namespace

void llmspell_register_tools(Registry& r) {
  r.fn("tools", "define")
      .param("spec", R"({"type":"object"})",
             "{name, description, parameters (JSON Schema), run = function(args, ctx), timeout, "
             "requires_approval, side_effects (it changes something outside the run; see docs/scaling.md), category, "
             "examples, permission}")
      .returns("the tool's info {name, description, category, parameters, ...}")
      .doc(
          "Defines (or replaces) a tool written in the spell; arguments are validated against "
          "parameters before run(args, ctx) is called")
      .sync([](CallContext& cx, Args a) -> Value {
        Tool t = toolFromSpec(a[0]);
        std::string name = t.name;
        reg(cx.run).define(std::move(t));
        return tools::toolInfo(*reg(cx.run).find(name));
      });
  r.fn("tools", "remove")
      .param("name", R"({"type":"string"})")
      .returns("true when a defined tool was removed (built-in tools cannot be)")
      .doc("Removes a tool defined by the spell")
      .sync([](CallContext& cx, Args a) -> Value {
        return Value(reg(cx.run).remove(a[0].asString()));
      });
  r.fn("tools", "call")
      .param("name", R"({"type":"string"})")
      .opt("args", R"({"type":"object"})", "the tool's arguments, checked against its parameters")
      .opt(
          "opts",
          R"({"type":"object","properties":{"timeout":{"type":"number"},"ctx":{"type":"object"}}})",
          "timeout in seconds; ctx: extra fields for the tool's ctx")
      .returns("the tool's result")
      .doc(
          "Calls a tool: validation, permission and approval checks, tool.call hooks, "
          "tool.call / tool.result events")
      .async([](CallContext& cx, Args a) -> PromisePtr {
        return reg(cx.run).call(a[0].asString(), a[1], callerCtx(a[2]));
      });
  r.fn("tools", "try_call")
      .param("name", R"({"type":"string"})")
      .opt("args", R"({"type":"object"})")
      // Not named `opts`: the registry's generic timeout would reject the whole call, and a
      // timeout here is an outcome like any other ({ok = false, error = {code = "timeout"}}).
      .opt(
          "options",
          R"({"type":"object","properties":{"timeout":{"type":"number"},"ctx":{"type":"object"}}})",
          "timeout in seconds; ctx: extra fields for the tool's ctx")
      .returns("{ok = true, result} or {ok = false, error = {code, message, ...}}")
      .doc("Calls a tool and returns the outcome instead of raising")
      .async([](CallContext& cx, Args a) -> PromisePtr {
        PromisePtr p = reg(cx.run).call(a[0].asString(), a[1], callerCtx(a[2]));
        double secs = a[2].getNumber("timeout", 0);
        if (secs > 0 && p->pending()) {
          std::string name = a[0].asString();
          auto timer = cx.loop.setTimeout(secs, [w = std::weak_ptr<Promise>(p), name, secs] {
            if (auto q = w.lock())
              q->cancel(Error(codes::kTimeout,
                              "tools.try_call('" + name + "') timed out after " + fmtSeconds(secs),
                              true));
          });
          p->onSettle([timer](const Promise&) mutable { timer.cancel(); });
        }
        return settled(p);
      });
  r.fn("tools", "list")
      .opt("filter", R"({"type":["string","object"]})",
           "a category, or {category, builtin = true|false, permission}")
      .returns("list of tool infos: built-ins first, then defined tools")
      .doc("The tools available to the spell")
      .sync([](CallContext& cx, Args a) -> Value {
        std::string cat = a[0].isString() ? a[0].asString() : a[0].getString("category");
        auto all = reg(cx.run).list(cat);
        if (a[0].isObject()) {
          const Value& b = a[0].get("builtin");
          std::string perm = a[0].getString("permission");
          std::erase_if(all, [&](const ToolPtr& t) {
            return (b.isBool() && t->builtin != b.asBool()) ||
                   (!perm.empty() && t->permission != perm);
          });
        }
        return infoList(all);
      });
  r.fn("tools", "info")
      .param("name", R"({"type":"string"})")
      .returns(
          "{name, description, category, parameters, examples, permission, requires_approval, "
          "side_effects, builtin, timeout}")
      .doc("One tool's description and schema; fails with not_found (naming similar tools)")
      .sync([](CallContext& cx, Args a) -> Value {
        ToolPtr t = reg(cx.run).find(a[0].asString());
        if (!t)
          reg(cx.run).validate(a[0].asString(), Value());  // throws not_found with suggestions
        return tools::toolInfo(*t);
      });
  r.fn("tools", "search")
      .param("text", R"({"type":"string"})")
      .returns("list of tool infos, best match first")
      .doc("Finds tools whose name, category or description match the words of text")
      .sync([](CallContext& cx, Args a) -> Value {
        return infoList(reg(cx.run).search(a[0].asString()));
      });
  r.fn("tools", "validate")
      .param("name", R"({"type":"string"})")
      .opt("args", R"({"type":"object"})")
      .returns("{ok, errors = {\"$.path: message\", ...}}")
      .doc("Checks arguments against a tool's parameters without calling it")
      .sync([](CallContext& cx, Args a) -> Value {
        auto errs = reg(cx.run).validate(a[0].asString(), a[1]);
        std::vector<Value> list;
        for (auto& e : errs) list.emplace_back(std::move(e));
        return Value::object({{"ok", list.empty()}, {"errors", Value::array(std::move(list))}});
      });
  r.fn("tools", "pipeline")
      .param(
          "steps", R"({"type":"array"})",
          "each a tool name (called with the previous output), {tool, args, input = \"arg name\"}, "
          "or a function(previous)")
      .opt("input", R"({})", "the first step's input")
      .opt("opts", R"({"type":"object","properties":{"timeout":{"type":"number"}}})")
      .returns("the last step's output")
      .doc("Runs steps in order, each getting the previous output")
      .async([](CallContext& cx, Args a) -> PromisePtr { return pipeline(cx.run, a[0], a[1]); });
  r.fn("tools", "parallel")
      .param("calls", R"({"type":"array"})", "each {tool = name, args = {...}} (or {name, args})")
      .opt(
          "opts",
          R"({"type":"object","properties":{"max_concurrency":{"type":"integer","minimum":1},"timeout":{"type":"number"}}})",
          "max_concurrency: calls in flight at once (default: all)")
      .returns("list of {name, ok, result | error, duration_ms}, in the order of calls")
      .doc("Runs tool calls concurrently; every call's outcome is returned, failures included")
      .async([](CallContext& cx, Args a) -> PromisePtr {
        struct State {
          RunContext* run;
          std::vector<Value> calls;
          std::vector<Value> results;
          std::vector<PromisePtr> inflight;
          size_t next = 0, done = 0, limit = 0;
          PromisePtr out;
        };
        auto st = std::make_shared<State>();
        st->run = &cx.run;
        for (const auto& c : a[0].asArray()) {
          if (!c.isObject() || (c.getString("tool", c.getString("name"))).empty())
            fail(codes::kInvalidArgument,
                 "tools.parallel: each call is {tool = name, args = {...}}, got " + c.describe());
          st->calls.push_back(c);
        }
        st->results.resize(st->calls.size());
        st->inflight.resize(st->calls.size());
        int64_t mc = a[1].getInt("max_concurrency", 0);
        st->limit = mc > 0 ? static_cast<size_t>(mc) : st->calls.size();
        st->out = Promise::create();
        if (st->calls.empty()) {
          st->out->resolve(Value::array());
          return st->out;
        }
        std::weak_ptr<State> weak = st;
        st->out->setCanceller([weak] {
          if (auto s = weak.lock())
            for (auto& p : s->inflight)
              if (p) p->cancel();
        });
        auto launch = std::make_shared<std::function<void()>>();
        *launch = [st, launch] {
          while (st->next < st->calls.size() && st->next - st->done < st->limit &&
                 st->out->pending()) {
            size_t i = st->next++;
            const Value& c = st->calls[i];
            std::string name = c.getString("tool", c.getString("name"));
            double start = nowMs();
            PromisePtr p =
                reg(*st->run).call(name, c.get("args"), Value::object({{"caller", "parallel"}}));
            st->inflight[i] = p;
            p->onSettle([st, launch, i, name, start](const Promise& q) {
              Value res = Value::object({{"name", name}, {"ok", q.fulfilled()}});
              if (q.rejected()) {
                const_cast<Promise&>(q).markHandled();
                res.asObject().set("error", q.error().toObject());
              } else {
                res.asObject().set("result", q.value());
              }
              res.asObject().set("duration_ms", nowMs() - start);
              st->results[i] = res;
              st->inflight[i].reset();
              if (++st->done == st->calls.size()) {
                if (st->out->pending()) st->out->resolve(Value::array(st->results));
                return;
              }
              (*launch)();
            });
          }
        };
        (*launch)();
        // Break the launch <-> state cycle once everything has settled.
        st->out->onSettle([launch](const Promise&) { *launch = nullptr; });
        return st->out;
      });
  r.fn("tools", "compose")
      .param("steps", R"({"type":"array"})", "the same steps tools.pipeline takes")
      .returns("a function(input) that runs the steps as a pipeline (it waits like tools.call)")
      .doc("Makes one function out of several tools")
      .sync([](CallContext& cx, Args a) -> Value {
        if (a[0].asArray().empty())
          fail(codes::kInvalidArgument, "tools.compose: steps must be a non-empty list");
        Value steps = a[0];
        RunContext* run = &cx.run;
        std::string label = "composed(";
        for (size_t i = 0; i < steps.asArray().size(); ++i) {
          if (i) label += ',';
          label += stepName(steps.asArray()[i]);
        }
        label += ")";
        return Value(FunctionPtr(std::make_shared<HostFunction>(
            [run, steps](std::vector<Value> args) {
              return pipeline(*run, steps, args.empty() ? Value() : args[0]);
            },
            label)));
      });
  r.fn("tools", "register_library")
      .param(
          "library", R"({"type":["array","object"]})",
          "a list of tool specs, or a table name = spec (the key is the name when spec has none)")
      .opt(
          "opts",
          R"({"type":"object","properties":{"prefix":{"type":"string"},"category":{"type":"string"}}})",
          "prefix: prepended to every name; category: default category")
      .returns("the list of names defined")
      .doc("Defines many tools at once (all or nothing: a bad spec defines none)")
      .sync([](CallContext& cx, Args a) -> Value {
        std::string prefix = a[1].getString("prefix");
        std::string category = a[1].getString("category");
        std::vector<Tool> ts;
        auto add = [&](const Value& spec, const std::string& key) {
          Tool t = toolFromSpec(spec, key);
          t.name = prefix + t.name;
          if (!category.empty() && spec.get("category").isNull()) t.category = category;
          ts.push_back(std::move(t));
        };
        if (a[0].isArray())
          for (const auto& s : a[0].asArray()) add(s, "");
        else
          for (const auto& [k, s] : a[0].asObject()) add(s, k);
        // Check every spec before defining any (define() throws on a bad name or schema).
        ToolRegistry probe(cx.loop, cx.run.permissions());
        for (const auto& t : ts) probe.define(t);
        std::vector<Value> names;
        for (auto& t : ts) {
          names.emplace_back(t.name);
          reg(cx.run).define(std::move(t));
        }
        return Value::array(std::move(names));
      });
  r.fn("tools", "test")
      .param("name", R"({"type":"string"})")
      .param("cases", R"({"type":"array"})",
             "each {args, expect (the result, or a table of fields it must have), expect_error "
             "(an error code, or true), name}")
      .returns("{passed, failed, total, results = {{name, ok, message, result | error}}}")
      .doc("Runs a tool against test cases, one after another")
      .async([](CallContext& cx, Args a) -> PromisePtr {
        struct State {
          RunContext* run;
          std::string tool;
          std::vector<Value> cases, results;
          size_t i = 0;
          int64_t passed = 0;
          PromisePtr out;
        };
        auto st = std::make_shared<State>();
        st->run = &cx.run;
        st->tool = a[0].asString();
        for (const auto& c : a[1].asArray()) {
          if (!c.isObject())
            fail(codes::kInvalidArgument,
                 "tools.test: each case is a table {args, expect | expect_error}");
          st->cases.push_back(c);
        }
        if (!reg(cx.run).find(st->tool)) reg(cx.run).validate(st->tool, Value());  // not_found
        st->out = Promise::create();
        auto step = std::make_shared<std::function<void()>>();
        *step = [st, step] {
          if (st->i >= st->cases.size()) {
            auto total = static_cast<int64_t>(st->cases.size());
            st->out->resolve(Value::object({{"passed", st->passed},
                                            {"failed", total - st->passed},
                                            {"total", total},
                                            {"results", Value::array(st->results)}}));
            *step = nullptr;
            return;
          }
          size_t idx = st->i++;
          Value c = st->cases[idx];
          std::string label = c.getString("name", "case " + std::to_string(idx + 1));
          PromisePtr p =
              reg(*st->run).call(st->tool, c.get("args"), Value::object({{"caller", "test"}}));
          p->onSettle([st, step, c, label](const Promise& q) {
            bool ok;
            std::string msg;
            Value res = Value::object({{"name", label}});
            const Value& wantErr = c.get("expect_error");
            if (q.rejected()) {
              const_cast<Promise&>(q).markHandled();
              res.asObject().set("error", q.error().toObject());
              if (wantErr.isString()) {
                ok = q.error().code == wantErr.asString();
                msg = ok ? "failed as expected"
                         : "expected error " + wantErr.asString() + ", got " + q.error().toString();
              } else {
                ok = wantErr.truthy();
                msg = ok ? "failed as expected" : "unexpected error: " + q.error().toString();
              }
            } else {
              res.asObject().set("result", q.value());
              if (wantErr.truthy()) {
                ok = false;
                msg = "expected an error, got " + show(q.value());
              } else if (c.asObject().contains("expect")) {
                ok = subsetMatch(c.get("expect"), q.value());
                msg = ok ? "ok" : "expected " + show(c.get("expect")) + ", got " + show(q.value());
              } else {
                ok = true;
                msg = "ok";
              }
            }
            res.asObject().set("ok", ok);
            res.asObject().set("message", msg);
            if (ok) ++st->passed;
            st->results.push_back(res);
            (*step)();
          });
        };
        (*step)();
        return st->out;
      });
  r.fn("tools", "benchmark")
      .param("name", R"({"type":"string"})")
      .opt("args", R"({"type":"object"})")
      .opt("n", R"({"type":"integer","minimum":1,"maximum":1000000,"default":10})",
           "number of calls (default 10)")
      .returns("{n, errors, total_ms, mean_ms, min_ms, p50_ms, p95_ms, max_ms}")
      .doc(
          "Calls a tool n times in a row and reports the timings (the whole call path: "
          "validation, hooks, events)")
      .async([](CallContext& cx, Args a) -> PromisePtr {
        struct State {
          RunContext* run;
          std::string tool;
          Value args;
          int64_t n = 0, errors = 0;
          std::vector<double> ms;
          double start = 0;
          PromisePtr out;
        };
        auto st = std::make_shared<State>();
        st->run = &cx.run;
        st->tool = a[0].asString();
        st->args = a[1];
        st->n = a[2].isInt() ? a[2].asInt() : 10;
        if (!reg(cx.run).find(st->tool)) reg(cx.run).validate(st->tool, Value());  // not_found
        st->out = Promise::create();
        st->start = nowMs();
        auto step = std::make_shared<std::function<void()>>();
        *step = [st, step] {
          // Settled calls continue in this loop instead of recursing (deep stacks for sync tools).
          while (static_cast<int64_t>(st->ms.size()) < st->n) {
            double t0 = nowMs();
            PromisePtr p =
                reg(*st->run).call(st->tool, st->args.isNull() ? Value() : st->args.deepCopy(),
                                   Value::object({{"caller", "benchmark"}}));
            auto record = [st, t0](const Promise& q) {
              if (q.rejected()) {
                const_cast<Promise&>(q).markHandled();
                ++st->errors;
              }
              st->ms.push_back(nowMs() - t0);
            };
            if (!p->pending()) {
              record(*p);
              continue;
            }
            p->onSettle([st, step, record](const Promise& q) {
              record(q);
              (*step)();
            });
            return;
          }
          auto sorted = st->ms;
          std::sort(sorted.begin(), sorted.end());
          auto pct = [&](double q) {
            return sorted[std::min(sorted.size() - 1,
                                   static_cast<size_t>(q * static_cast<double>(sorted.size())))];
          };
          double total = 0;
          for (double m : sorted) total += m;
          st->out->resolve(Value::object({{"n", st->n},
                                          {"errors", st->errors},
                                          {"total_ms", nowMs() - st->start},
                                          {"mean_ms", total / static_cast<double>(sorted.size())},
                                          {"min_ms", sorted.front()},
                                          {"p50_ms", pct(0.5)},
                                          {"p95_ms", pct(0.95)},
                                          {"max_ms", sorted.back()}}));
          *step = nullptr;
        };
        (*step)();
        return st->out;
      });
  r.fn("tools", "set_approver")
      .param("fn", R"({"type":["function","null"]})",
             "fn(name, args) returns true to allow the call; nil restores the --approve policy")
      .returns("nothing")
      .doc(
          "Decides calls of tools that require approval (approvals are remembered per tool and "
          "exact arguments)")
      .sync([](CallContext& cx, Args a) -> Value {
        if (a[0].isNull()) {
          const Value& policy = cx.run.config.get("approve");
          reg(cx.run).setApprover(policy.isString() ? tools::approvalPolicy(policy.asString())
                                                    : tools::Approver());
          return Value();
        }
        FunctionPtr fn = a[0].asFunction();
        reg(cx.run).setApprover([fn](const std::string& name, const Value& args) {
          PromisePtr p = fn->call({Value(name), args});
          auto out = Promise::create();
          p->onSettle([out](const Promise& q) {
            if (q.rejected()) {
              const_cast<Promise&>(q).markHandled();
              out->reject(q.error());
            } else {
              out->resolve(Value(q.value().truthy()));
            }
          });
          return out;
        });
        return Value();
      });
}

}  // namespace llmspell

// `hooks` namespace: script functions as before / after / around hooks of the run's
// HookRegistry (removed with the run).
#include "bridge/modules/script_hooks.hpp"
#include "llmspell/bridge/script_call.hpp"

namespace llmspell {

HookFn scriptHook(FunctionPtr fn, HookKind kind) {
  return [fn, kind](const Value& ctx, const HookNext& next) -> PromisePtr {
    if (kind != HookKind::kAround) {
      // fn(ctx) may change ctx.args (before) or ctx.result (after) in place and return nothing:
      // the changed field counts as if ctx had been returned.
      auto* seeing = dynamic_cast<ArgsSeeingCall*>(fn.get());
      if (!seeing) return fn->call({ctx});
      const char* field = kind == HookKind::kBefore ? "args" : "result";
      return promiseThen(seeing->callSeeingArgs({ctx}), [ctx, field](const Value& r) -> Value {
        const Value& res = r.get("result");
        if (!res.isNull()) return res;
        const Value& after = r.get("args").isArray() && !r.get("args").asArray().empty()
                                 ? r.get("args").asArray()[0]
                                 : Value();
        const Value& changed = after.get(field);
        if (changed == ctx.get(field)) return Value();  // untouched: keep the host's own value
        return Value::object({{field, changed}});
      });
    }
    auto nextFn = std::make_shared<HostFunction>(
        [next](std::vector<Value> a) { return next(a.empty() ? Value() : a[0]); }, "next");
    return fn->call({ctx, Value(FunctionPtr(nextFn))});
  };
}

namespace {

void addHook(Registry& r, const char* name, HookKind kind, const char* doc, const char* fnDoc) {
  r.fn("hooks", name)
      .param("point", R"({"type":"string"})",
             "llm.call, tool.call, agent.run, workflow.step or state.set")
      .param("fn", R"({"type":"function"})", fnDoc)
      .opt(
          "opts",
          R"({"type":"object","properties":{"priority":{"type":"integer"},"name":{"type":"string"}}})",
          "priority: higher runs first (outermost for around), default 0; name: shown by list")
      .returns("hook id for hooks.remove")
      .doc(doc)
      .sync([kind](CallContext& cx, Args a) -> Value {
        auto prio = static_cast<int>(a[2].getInt("priority", 0));
        std::string label = a[2].getString("name", "");
        if (label.empty()) label = a[1].asFunction()->describe();
        uint64_t id = hooksFor(cx.run).add(a[0].asString(), kind,
                                           scriptHook(a[1].asFunction(), kind), prio, label);
        return Value(static_cast<int64_t>(id));
      });
}

}  // namespace

void llmspell_register_hooks(Registry& r) {
  addHook(r, "before", HookKind::kBefore,
          "Runs fn(ctx) before the call; return {cancel = reason} to stop it (the call fails "
          "with code `cancelled`), or {args = ...} / ctx to change the arguments",
          "fn(ctx) with ctx = {point, args}");
  addHook(r, "after", HookKind::kAfter,
          "Runs fn(ctx) after the call; return {result = ...} (or ctx) to change the result",
          "fn(ctx) with ctx = {point, args, result}");
  addHook(r, "around", HookKind::kAround,
          "Wraps the call: fn(ctx, next) returns the result; next() runs the call (next(args) "
          "with new arguments), zero or more times: caching, retries, redirection",
          "fn(ctx, next)");
  r.fn("hooks", "remove")
      .param("id", R"({"type":"integer"})")
      .returns("true when the hook existed")
      .doc("Removes a hook")
      .sync([](CallContext& cx, Args a) -> Value {
        return Value(hooksFor(cx.run).remove(static_cast<uint64_t>(a[0].asInt())));
      });
  r.fn("hooks", "list")
      .opt("point", R"({"type":"string"})", "only this point")
      .returns("list of {id, point, kind, priority, name}, in the order they run")
      .doc("The hooks this spell registered")
      .sync([](CallContext& cx, Args a) -> Value {
        std::vector<Value> out;
        for (const auto& h : hooksFor(cx.run).list()) {
          if (a[0].isString() && h.point != a[0].asString()) continue;
          out.push_back(Value::object({{"id", static_cast<int64_t>(h.id)},
                                       {"point", h.point},
                                       {"kind", hookKindName(h.kind)},
                                       {"priority", h.priority},
                                       {"name", h.name}}));
        }
        return Value::array(std::move(out));
      });
  r.fn("hooks", "points")
      .returns("list of point names")
      .doc("The interception points hooks can attach to")
      .sync([](CallContext&, Args) -> Value {
        std::vector<Value> out;
        for (auto& p : HookRegistry::points()) out.emplace_back(std::move(p));
        return Value::array(std::move(out));
      });
}

}  // namespace llmspell

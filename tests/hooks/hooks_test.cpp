// Hooks: ordering by priority, before changing/cancelling, after changing results, around
// caching/retrying/redirecting, async handlers on a real loop, removal and listing.
#include "llmspell/hooks/hooks.hpp"

#include <gtest/gtest.h>

#include "llmspell/core/error.hpp"
#include "llmspell/runtime/loop.hpp"

namespace llmspell {
namespace {

// The operation being hooked: returns {echo = args, calls = n}.
struct Op {
  int calls = 0;
  HookInner fn() {
    return [this](Value a) {
      ++calls;
      return Promise::resolved(Value::object({{"echo", a}, {"calls", calls}}));
    };
  }
};

Value settledValue(const PromisePtr& p) {
  EXPECT_TRUE(p->fulfilled()) << (p->rejected() ? p->error().toString() : "pending");
  return p->fulfilled() ? p->value() : Value();
}

TEST(Hooks, NoHooksCallsInnerDirectly) {
  HookRegistry reg;
  Op op;
  Value r = settledValue(reg.run("tool.call", Value(1), op.fn()));
  EXPECT_EQ(r.getInt("calls"), 1);
  EXPECT_EQ(r.get("echo"), Value(1));
}

TEST(Hooks, BeforeChangesArgsInPriorityOrder) {
  HookRegistry reg;
  std::vector<std::string> order;
  auto appender = [&](std::string tag) {
    return [&order, tag](const Value& ctx, const HookNext&) {
      order.push_back(tag);
      EXPECT_EQ(ctx.getString("point"), "tool.call");
      Value a = ctx.get("args").isString() ? ctx.get("args") : Value("");
      return Promise::resolved(Value::object({{"args", a.asString() + tag}}));
    };
  };
  reg.add("tool.call", HookKind::kBefore, appender("a"), 0);
  reg.add("tool.call", HookKind::kBefore, appender("b"), 10);
  reg.add("tool.call", HookKind::kBefore, appender("c"), 0);
  reg.add("tool.call", HookKind::kBefore, appender("d"), -5);
  Op op;
  Value r = settledValue(reg.run("tool.call", Value("x"), op.fn()));
  EXPECT_EQ(r.get("echo"), Value("xbacd"));  // priority desc, stable for equals
  std::vector<std::string> want = {"b", "a", "c", "d"};
  EXPECT_EQ(order, want);
}

TEST(Hooks, BeforeCancelFailsWithReason) {
  HookRegistry reg;
  int later = 0;
  reg.add(
      "llm.call", HookKind::kBefore,
      [](const Value&, const HookNext&) {
        return Promise::resolved(Value::object({{"cancel", "budget used up"}}));
      },
      5);
  reg.add("llm.call", HookKind::kBefore, [&](const Value&, const HookNext&) {
    ++later;
    return PromisePtr();
  });
  Op op;
  auto p = reg.run("llm.call", Value::object(), op.fn());
  ASSERT_TRUE(p->rejected());
  EXPECT_EQ(p->error().code, codes::kCancelled);
  EXPECT_EQ(p->error().message, "budget used up");
  EXPECT_EQ(op.calls, 0);
  EXPECT_EQ(later, 0);
}

TEST(Hooks, AfterChangesResult) {
  HookRegistry reg;
  reg.add("agent.run", HookKind::kAfter, [](const Value& ctx, const HookNext&) {
    int64_t c = ctx.get("result").getInt("calls");
    return Promise::resolved(Value::object({{"result", c * 100}}));
  });
  reg.add(
      "agent.run", HookKind::kAfter,
      [](const Value& ctx, const HookNext&) {
        // Lower priority runs later and sees the changed result; null keeps it.
        EXPECT_EQ(ctx.get("result"), Value(100));
        return PromisePtr();
      },
      -1);
  Op op;
  EXPECT_EQ(settledValue(reg.run("agent.run", Value(), op.fn())), Value(100));
}

TEST(Hooks, AroundCachesRetriesAndRedirects) {
  HookRegistry reg;
  // Outer (priority 10): cache by args.
  auto cache = std::make_shared<std::unordered_map<std::string, Value>>();
  reg.add(
      "tool.call", HookKind::kAround,
      [cache](const Value& ctx, const HookNext& next) {
        std::string k = ctx.get("args").isString() ? ctx.get("args").asString() : "?";
        if (auto it = cache->find(k); it != cache->end()) return Promise::resolved(it->second);
        auto p = next(Value());
        p->onSettle([cache, k](const Promise& q) {
          if (q.fulfilled()) (*cache)[k] = q.value();
        });
        return p;
      },
      10);
  // Inner (priority 0): redirect "old" to "new".
  reg.add("tool.call", HookKind::kAround, [](const Value& ctx, const HookNext& next) {
    if (ctx.get("args") == Value("old")) return next(Value("new"));
    return next(Value());
  });
  Op op;
  EXPECT_EQ(settledValue(reg.run("tool.call", Value("old"), op.fn())).get("echo"), Value("new"));
  EXPECT_EQ(settledValue(reg.run("tool.call", Value("old"), op.fn())).getInt("calls"), 1);
  EXPECT_EQ(op.calls, 1);  // second call served from the cache

  // Retry: next called several times until it succeeds.
  HookRegistry r2;
  int attempts = 0;
  HookInner flaky = [&](Value) {
    ++attempts;
    if (attempts < 3) return Promise::rejected(Error(codes::kNetworkError, "flaky", true));
    return Promise::resolved(Value("ok"));
  };
  r2.add("llm.call", HookKind::kAround, [](const Value&, const HookNext& next) {
    auto out = Promise::create();
    auto tryOnce = std::make_shared<std::function<void(int)>>();
    *tryOnce = [out, next, tryOnce](int left) {
      next(Value())->onSettle([out, tryOnce, left](const Promise& q) {
        if (q.fulfilled())
          out->resolve(q.value());
        else if (left > 1)
          (*tryOnce)(left - 1);
        else
          out->reject(q.error());
        if (!out->pending()) *tryOnce = nullptr;  // break the self-reference
      });
    };
    (*tryOnce)(5);
    return out;
  });
  EXPECT_EQ(settledValue(r2.run("llm.call", Value(), flaky)), Value("ok"));
  EXPECT_EQ(attempts, 3);

  // Zero calls of next: the hook answers itself.
  HookRegistry r3;
  r3.add("llm.call", HookKind::kAround,
         [](const Value&, const HookNext&) { return Promise::resolved(Value("canned")); });
  Op op3;
  EXPECT_EQ(settledValue(r3.run("llm.call", Value(), op3.fn())), Value("canned"));
  EXPECT_EQ(op3.calls, 0);
}

TEST(Hooks, FailuresPropagate) {
  HookRegistry reg;
  reg.add("workflow.step", HookKind::kBefore, [](const Value&, const HookNext&) -> PromisePtr {
    throw Exception(codes::kValidationFailed, "bad step");
  });
  Op op;
  auto p = reg.run("workflow.step", Value(), op.fn());
  ASSERT_TRUE(p->rejected());
  EXPECT_EQ(p->error().code, codes::kValidationFailed);
  HookRegistry r2;
  auto p2 = r2.run("workflow.step", Value(),
                   [](Value) -> PromisePtr { throw std::runtime_error("inner blew up"); });
  ASSERT_TRUE(p2->rejected());
  EXPECT_EQ(p2->error().code, codes::kInternal);
}

TEST(Hooks, AsyncHandlersOnALoop) {
  Loop loop(1);
  HookRegistry reg;
  std::vector<std::string> order;
  reg.add("state.set", HookKind::kBefore, [&](const Value&, const HookNext&) {
    order.push_back("before");
    auto p = loop.sleep(0.01);
    auto out = Promise::create();
    p->onSettle([out](const Promise&) { out->resolve(Value::object({{"args", "slow"}})); });
    return out;
  });
  reg.add("state.set", HookKind::kAfter, [&](const Value& ctx, const HookNext&) {
    order.push_back("after");
    auto out = Promise::create();
    Value res = ctx.get("result");
    loop.post([out, res] { out->resolve(Value::object({{"result", Value::array({res})}})); });
    return out;
  });
  HookInner inner = [&](Value a) {
    order.push_back("inner");
    auto out = Promise::create();
    loop.post([out, a] { out->resolve(a); });
    return out;
  };
  auto p = reg.run("state.set", Value("fast"), inner);
  EXPECT_TRUE(p->pending());
  loop.runUntil([&] { return !p->pending(); });
  EXPECT_EQ(settledValue(p), Value::array({Value("slow")}));
  std::vector<std::string> want = {"before", "inner", "after"};
  EXPECT_EQ(order, want);
}

TEST(Hooks, CancelReachesTheStepInFlight) {
  Loop loop(1);
  HookRegistry reg;
  reg.add("llm.call", HookKind::kAround,
          [](const Value&, const HookNext& next) { return next(Value()); });
  PromisePtr innerP;
  auto p = reg.run("llm.call", Value(), [&](Value) {
    innerP = loop.sleep(60);
    return innerP;
  });
  ASSERT_TRUE(innerP && innerP->pending());
  p->cancel();
  EXPECT_TRUE(p->rejected());
  EXPECT_TRUE(innerP->rejected());
  EXPECT_EQ(innerP->error().code, codes::kCancelled);
}

TEST(Hooks, RemoveListAndPoints) {
  HookRegistry reg;
  auto noop = [](const Value&, const HookNext&) { return PromisePtr(); };
  uint64_t a = reg.add("tool.call", HookKind::kBefore, noop, 1, "first");
  uint64_t b = reg.add("tool.call", HookKind::kAround, noop, 7, "second");
  auto l = reg.list();
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0].id, b);
  EXPECT_EQ(l[0].kind, HookKind::kAround);
  EXPECT_EQ(l[1].name, "first");
  EXPECT_TRUE(reg.has("tool.call"));
  EXPECT_TRUE(reg.remove(a));
  EXPECT_FALSE(reg.remove(a));
  EXPECT_TRUE(reg.remove(b));
  EXPECT_FALSE(reg.has("tool.call"));
  try {
    reg.add("nope.call", HookKind::kBefore, noop);
    ADD_FAILURE();
  } catch (const Exception& e) {
    EXPECT_EQ(e.error().code, codes::kInvalidArgument);
    EXPECT_NE(e.error().message.find("llm.call"), std::string::npos);
  }
  HookRegistry::declarePoint("custom.point");
  EXPECT_NO_THROW(reg.add("custom.point", HookKind::kBefore, noop));
}

TEST(Hooks, ParentHooksMergeByPriority) {
  HookRegistry parent;
  HookRegistry child(&parent);
  std::string trail;
  parent.add(
      "tool.call", HookKind::kBefore,
      [&](const Value&, const HookNext&) {
        trail += "P";
        return PromisePtr();
      },
      5);
  child.add(
      "tool.call", HookKind::kBefore,
      [&](const Value&, const HookNext&) {
        trail += "c";
        return PromisePtr();
      },
      1);
  child.add(
      "tool.call", HookKind::kBefore,
      [&](const Value&, const HookNext&) {
        trail += "C";
        return PromisePtr();
      },
      9);
  Op op;
  settledValue(child.run("tool.call", Value(), op.fn()));
  EXPECT_EQ(trail, "CPc");
  EXPECT_EQ(child.list().size(), 2u);
}

TEST(Hooks, GlobalRunHooked) {
  Op op;
  auto noop = [](const Value&, const HookNext& next) { return next(Value("via-global")); };
  uint64_t id = HookRegistry::global().add("tool.call", HookKind::kAround, noop);
  EXPECT_EQ(settledValue(runHooked("tool.call", Value("x"), op.fn())).get("echo"),
            Value("via-global"));
  HookRegistry::global().remove(id);
  EXPECT_EQ(settledValue(runHooked("tool.call", Value("x"), op.fn())).get("echo"), Value("x"));
}

}  // namespace
}  // namespace llmspell

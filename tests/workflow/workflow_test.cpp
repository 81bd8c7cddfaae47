// Unit tests of the workflow layer: every kind, on_error policies, retries, timeouts,
// cancellation reaching the steps in flight, concurrency bounds, hooks, events, usage, and the
// declarative form.
#include "llmspell/workflow/workflow.hpp"

#include <gtest/gtest.h>

#include "llmspell/events/bus.hpp"
#include "llmspell/hooks/hooks.hpp"

namespace llmspell::workflow {
namespace {

// Counters shared by the steps of one test.
struct Probe {
  int inflight = 0;
  int maxInflight = 0;
  int started = 0;
  int cancelled = 0;
};

class WorkflowTest : public ::testing::Test {
 protected:
  Loop loop{1};
  HookRegistry hooks{nullptr};
  EventBus bus;
  std::vector<std::string> events;  // "name:workflow:step:status"
  uint64_t sub = 0;

  void SetUp() override {
    sub = bus.subscribe("workflow.**", [this](const Event& e) {
      events.push_back(e.name + ":" + e.data.getString("workflow") + ":" + e.data.getString("step") + ":" +
                       e.data.getString("status"));
    });
  }
  void TearDown() override { bus.off(sub); }

  RunEnv env() { return RunEnv{loop, &hooks, &bus, nullptr}; }

  // Runs the loop until `p` settles.
  void wait(const PromisePtr& p) {
    loop.runUntil([&] { return !p->pending(); });
    ASSERT_FALSE(p->pending());
  }
  Value runOk(const WorkflowPtr& w, Value in) {
    auto p = w->run(std::move(in), env());
    wait(p);
    EXPECT_TRUE(p->fulfilled()) << (p->rejected() ? p->error().toString() : "");
    return p->fulfilled() ? p->value() : Value();
  }

  // A step that resolves with `f(input)` after `secs`, counting concurrency and cancellations.
  Step sleeper(std::string name, double secs, std::shared_ptr<Probe> pr,
               std::function<Value(const Value&)> f = [](const Value& v) { return v; }) {
    return Step::fn(std::move(name), [secs, pr, f](Value in, StepEnv& e) -> PromisePtr {
      ++pr->started;
      ++pr->inflight;
      pr->maxInflight = std::max(pr->maxInflight, pr->inflight);
      auto s = e.run.loop.sleep(secs);
      auto out = Promise::create();
      s->onSettle([out, pr, in, f](const Promise& q) {
        --pr->inflight;
        if (q.fulfilled()) out->resolve(f(in));
      });
      out->setCanceller([s, pr] {
        ++pr->cancelled;
        s->cancel();
      });
      return out;
    });
  }
  static Step pure(std::string name, std::function<Value(const Value&)> f) {
    return Step::fn(std::move(name), [f](Value in, StepEnv&) { return Promise::resolved(f(in)); });
  }
  static Step failing(std::string name, std::string code = "provider_error") {
    return Step::fn(std::move(name), [code](Value, StepEnv&) {
      return Promise::rejected(Error(code, "boom"));
    });
  }
  static std::vector<std::string> statuses(const Value& r) {
    std::vector<std::string> out;
    for (const auto& s : r.get("steps").asArray())
      out.push_back(s.getString("name") + "=" + s.getString("status"));
    return out;
  }
};

// A declarative pipeline: a named step, then an inline parallel workflow of two named steps.
Value parseSpec() {
  return Value::object(
      {{"type", "sequential"},
       {"name", "pipeline"},
       {"steps", Value::array({Value("fetch"),
                               Value::object({{"type", "parallel"},
                                              {"name", "fan"},
                                              {"merge", "object"},
                                              {"steps", Value::array({Value::object({{"name", "a"}, {"ref", "a"}}),
                                                                      Value::object({{"name", "b"}, {"ref", "b"}})})}})})}});
}

Value add(const Value& v, int64_t n) { return Value(v.asInt() + n); }

TEST_F(WorkflowTest, SequentialPassesOutputsAlongAndReportsEachStep) {
  Config c;
  c.name = "seq";
  c.steps = {pure("plus1", [](const Value& v) { return add(v, 1); }),
             pure("times3", [](const Value& v) { return Value(v.asInt() * 3); }), pure("", [](const Value& v) {
               return add(v, 100);
             })};
  auto r = runOk(Workflow::create(c), Value(1));
  EXPECT_EQ(r.get("output"), Value(106));
  EXPECT_EQ(r.getString("status"), "completed");
  EXPECT_EQ(statuses(r), (std::vector<std::string>{"plus1=completed", "times3=completed", "step3=completed"}));
  EXPECT_EQ(r.get("steps").asArray()[1].get("output"), Value(6));
  EXPECT_TRUE(r.get("steps").asArray()[0].get("duration_ms").isNumber());
  EXPECT_TRUE(r.get("duration_ms").isNumber());
  EXPECT_EQ(events, (std::vector<std::string>{"workflow.start:seq::", "workflow.step:seq:plus1:completed",
                                              "workflow.step:seq:times3:completed",
                                              "workflow.step:seq:step3:completed", "workflow.finish:seq::completed"}));
}

TEST_F(WorkflowTest, ParallelStepsAreInFlightTogether) {
  auto pr = std::make_shared<Probe>();
  Config c;
  c.kind = Kind::kParallel;
  for (int i = 0; i < 20; ++i) c.steps.push_back(sleeper(std::string("s") + std::to_string(i), 0.02, pr));
  auto r = runOk(Workflow::create(c), Value("x"));
  EXPECT_EQ(pr->maxInflight, 20);
  EXPECT_EQ(r.get("output").asArray().size(), 20u);
  EXPECT_EQ(r.get("output").asArray()[7], Value("x"));
}

TEST_F(WorkflowTest, MaxConcurrencyBoundsStepsInFlight) {
  auto pr = std::make_shared<Probe>();
  Config c;
  c.kind = Kind::kParallel;
  c.maxConcurrency = 3;
  for (int i = 0; i < 10; ++i)
    c.steps.push_back(sleeper(std::string("s") + std::to_string(i), 0.005, pr, [i](const Value&) { return Value(i); }));
  auto r = runOk(Workflow::create(c), Value());
  EXPECT_EQ(pr->maxInflight, 3);
  EXPECT_EQ(pr->started, 10);
  // Outputs keep the step order whatever the finishing order.
  for (int i = 0; i < 10; ++i) EXPECT_EQ(r.get("output").asArray()[i], Value(i));
}

TEST_F(WorkflowTest, ParallelMergeObjectAndFunction) {
  Config c;
  c.kind = Kind::kParallel;
  c.steps = {pure("a", [](const Value& v) { return add(v, 1); }), pure("b", [](const Value& v) { return add(v, 2); })};
  c.merge = "object";
  auto r = runOk(Workflow::create(c), Value(10));
  EXPECT_EQ(r.get("output"), Value::object({{"a", 11}, {"b", 12}}));

  c.merge = "function";
  c.mergeFn = [](std::vector<Value> args, StepEnv&) {
    int64_t sum = 0;
    for (const auto& rec : args[0].asArray()) sum += rec.get("output").asInt();
    return Promise::resolved(Value(sum + args[1].asInt()));
  };
  EXPECT_EQ(runOk(Workflow::create(c), Value(10)).get("output"), Value(33));

  c.merge = "object";
  c.steps[1].name = "a";
  EXPECT_THROW(Workflow::create(c), Exception);  // duplicate keys for merge = object
}

TEST_F(WorkflowTest, ParallelFailureCancelsSiblingsInFlight) {
  auto pr = std::make_shared<Probe>();
  Config c;
  c.kind = Kind::kParallel;
  c.name = "par";
  Step bad = Step::fn("bad", [](Value, StepEnv& e) {
    auto out = Promise::create();
    e.run.loop.sleep(0.01)->onSettle([out](const Promise&) { out->reject(Error("provider_error", "boom")); });
    return out;
  });
  c.steps = {sleeper("slow1", 10, pr), bad, sleeper("slow2", 10, pr)};
  auto r = runOk(Workflow::create(c), Value());
  EXPECT_EQ(r.getString("status"), "failed");
  EXPECT_EQ(pr->cancelled, 2);
  EXPECT_EQ(r.get("error").getString("code"), "provider_error");
  EXPECT_EQ(r.get("error").getString("message"), "step 'bad' failed: boom");
  EXPECT_EQ(r.get("error").get("details").getString("step"), "bad");
  EXPECT_EQ(statuses(r), (std::vector<std::string>{"slow1=cancelled", "bad=failed", "slow2=cancelled"}));
  loop.poll();  // the cancelled timers' handlers run
  EXPECT_EQ(loop.pending(), 0u);  // the timers were cancelled, not left running
}

TEST_F(WorkflowTest, OnErrorContinuePassesTheInputOn) {
  Config c;
  c.onError = ErrorPolicy::fromValue(Value("continue"), "t");
  c.steps = {pure("a", [](const Value& v) { return add(v, 1); }), failing("b"),
             pure("c", [](const Value& v) { return add(v, 10); })};
  auto r = runOk(Workflow::create(c), Value(1));
  EXPECT_EQ(r.getString("status"), "completed");
  EXPECT_EQ(r.get("output"), Value(12));
  EXPECT_EQ(statuses(r), (std::vector<std::string>{"a=completed", "b=failed", "c=completed"}));
  EXPECT_EQ(r.get("steps").asArray()[1].get("error").getString("message"), "boom");
}

TEST_F(WorkflowTest, OnErrorFailStopsAndStepPolicyOverrides) {
  Config c;
  c.steps = {pure("a", [](const Value& v) { return add(v, 1); }), failing("b"),
             pure("c", [](const Value& v) { return add(v, 10); })};
  auto r = runOk(Workflow::create(c), Value(1));
  EXPECT_EQ(r.getString("status"), "failed");
  EXPECT_TRUE(r.get("output").isNull());
  EXPECT_EQ(statuses(r), (std::vector<std::string>{"a=completed", "b=failed"}));
  // The step's own policy wins over the workflow's.
  c.steps[1].onError = ErrorPolicy::fromValue(Value("continue"), "t");
  EXPECT_EQ(runOk(Workflow::create(c), Value(1)).get("output"), Value(12));
}

TEST_F(WorkflowTest, RetryRunsAgainUntilSuccessOrExhaustion) {
  auto calls = std::make_shared<int>(0);
  auto flaky = [calls](int failures) {
    return Step::fn("flaky", [calls, failures](Value in, StepEnv& e) {
      ++*calls;
      if (e.attempt <= failures) return Promise::rejected(Error("rate_limited", "try again", true));
      return Promise::resolved(Value(e.attempt));
    });
  };
  Config c;
  c.onError = ErrorPolicy::fromValue(Value::object({{"retry", 2}, {"backoff", 0.001}}), "t");
  c.steps = {flaky(2)};
  auto r = runOk(Workflow::create(c), Value());
  EXPECT_EQ(r.getString("status"), "completed");
  EXPECT_EQ(r.get("output"), Value(3));
  EXPECT_EQ(r.get("steps").asArray()[0].getInt("attempts"), 3);
  EXPECT_EQ(*calls, 3);

  *calls = 0;
  c.steps = {flaky(5)};
  r = runOk(Workflow::create(c), Value());
  EXPECT_EQ(r.getString("status"), "failed");
  EXPECT_EQ(*calls, 3);
  EXPECT_EQ(r.get("steps").asArray()[0].getInt("attempts"), 3);
  EXPECT_EQ(r.get("error").getString("code"), "rate_limited");

  // then = "continue": after the retries the run goes on.
  *calls = 0;
  c.onError = ErrorPolicy::fromValue(Value::object({{"retry", 1}, {"then", "continue"}}), "t");
  r = runOk(Workflow::create(c), Value("in"));
  EXPECT_EQ(r.getString("status"), "completed");
  EXPECT_EQ(r.get("output"), Value("in"));
  EXPECT_EQ(*calls, 2);
}

TEST_F(WorkflowTest, StepTimeoutFailsTheAttemptAndCancelsTheStep) {
  auto pr = std::make_shared<Probe>();
  Config c;
  c.steps = {sleeper("slow", 10, pr)};
  c.steps[0].timeout = 0.02;
  auto r = runOk(Workflow::create(c), Value());
  EXPECT_EQ(r.getString("status"), "failed");
  EXPECT_EQ(r.get("error").getString("code"), "timeout");
  EXPECT_EQ(pr->cancelled, 1);
  loop.poll();  // the cancelled timers' handlers run
  EXPECT_EQ(loop.pending(), 0u);
}

TEST_F(WorkflowTest, CancellingTheRunPromiseCancelsStepsInFlight) {
  auto pr = std::make_shared<Probe>();
  Config inner;
  inner.kind = Kind::kParallel;
  inner.name = "inner";
  inner.steps = {sleeper("i1", 10, pr), sleeper("i2", 10, pr)};
  Config c;
  c.kind = Kind::kParallel;
  c.name = "outer";
  c.steps = {sleeper("o1", 10, pr), Step::nested(Workflow::create(inner))};
  auto p = Workflow::create(c)->run(Value(), env());
  auto t = loop.setTimeout(0.02, [p] { p->cancel(); });
  wait(p);
  ASSERT_TRUE(p->rejected());
  EXPECT_EQ(p->error().code, "cancelled");
  EXPECT_EQ(pr->started, 3);
  EXPECT_EQ(pr->cancelled, 3);  // the nested workflow's steps too
  loop.poll();  // the cancelled timers' handlers run
  EXPECT_EQ(loop.pending(), 0u);
  EXPECT_NE(std::find(events.begin(), events.end(), "workflow.finish:outer::cancelled"), events.end());
  EXPECT_NE(std::find(events.begin(), events.end(), "workflow.finish:inner::cancelled"), events.end());
}

TEST_F(WorkflowTest, WorkflowCancelResolvesWithStatusCancelled) {
  auto pr = std::make_shared<Probe>();
  Config c;
  c.name = "seq";
  c.steps = {pure("a", [](const Value& v) { return v; }), sleeper("slow", 10, pr), pure("c", [](const Value& v) {
               return v;
             })};
  auto w = Workflow::create(c);
  auto p = w->run(Value(), env());
  size_t stopped = 99;
  auto t = loop.setTimeout(0.02, [&] { stopped = w->cancel(); });
  wait(p);
  EXPECT_EQ(stopped, 1u);
  ASSERT_TRUE(p->fulfilled());
  EXPECT_EQ(p->value().getString("status"), "cancelled");
  EXPECT_EQ(statuses(p->value()), (std::vector<std::string>{"a=completed", "slow=cancelled"}));
  EXPECT_EQ(pr->cancelled, 1);
  EXPECT_EQ(w->cancel(), 0u);
}

TEST_F(WorkflowTest, CancelledNestedWorkflowsKeepTheirRecords) {
  auto pr = std::make_shared<Probe>();
  Config inner;
  inner.name = "inner";
  inner.steps = {pure("quick", [](const Value& v) { return v; }), sleeper("nap", 10, pr)};
  Config c;
  c.kind = Kind::kParallel;
  c.name = "outer";
  c.steps = {Step::nested(Workflow::create(inner)), sleeper("other", 10, pr)};
  auto w = Workflow::create(c);
  auto p = w->run(Value(), env());
  auto t = loop.setTimeout(0.02, [w] { w->cancel(); });
  wait(p);
  ASSERT_TRUE(p->fulfilled());
  const Value& r = p->value();
  EXPECT_EQ(statuses(r), (std::vector<std::string>{"inner=cancelled", "other=cancelled"}));
  EXPECT_EQ(statuses(r.get("steps").asArray()[0]), (std::vector<std::string>{"quick=completed", "nap=cancelled"}));
  EXPECT_EQ(pr->cancelled, 2);
}

TEST_F(WorkflowTest, ConditionalPicksTheFirstMatchingBranch) {
  Config c;
  c.kind = Kind::kConditional;
  c.branches.push_back({Condition{[](std::vector<Value> a, StepEnv&) {
                                    return Promise::resolved(Value(a[0].asInt() > 10));
                                  },
                                  {}},
                        pure("big", [](const Value&) { return Value("big"); })});
  c.branches.push_back({Condition{nullptr, Value::object({{"path", ""}, {"equals", 5}})},
                        pure("five", [](const Value&) { return Value("five"); })});
  c.otherwise = pure("other", [](const Value&) { return Value("other"); });
  auto w = Workflow::create(c);
  EXPECT_EQ(runOk(w, Value(50)).get("output"), Value("big"));
  auto r = runOk(w, Value(5));
  EXPECT_EQ(r.get("output"), Value("five"));
  EXPECT_EQ(r.get("steps").asArray()[0].get("branch"), Value(2));
  EXPECT_EQ(runOk(w, Value(1)).get("output"), Value("other"));
  c.otherwise.reset();
  auto none = runOk(Workflow::create(c), Value(1));
  EXPECT_EQ(none.get("output"), Value(1));
  EXPECT_EQ(none.get("steps").asArray().size(), 0u);
}

TEST_F(WorkflowTest, LoopTimesItemsWhileUntil) {
  Config c;
  c.kind = Kind::kLoop;
  c.body = pure("inc", [](const Value& v) { return add(v, 1); });
  c.times = 4;
  EXPECT_EQ(runOk(Workflow::create(c), Value(0)).get("output"), Value(4));

  c.times = -1;
  c.items = Value::array({1, 2, 3});
  auto r = runOk(Workflow::create(c), Value());
  EXPECT_EQ(r.get("output"), Value::array({2, 3, 4}));
  EXPECT_EQ(r.get("steps").asArray()[2].getInt("index"), 3);

  c.items = Value();
  c.whileCond = Condition{[](std::vector<Value> a, StepEnv&) { return Promise::resolved(Value(a[0].asInt() < 7)); }, {}};
  EXPECT_EQ(runOk(Workflow::create(c), Value(0)).get("output"), Value(7));
  EXPECT_EQ(runOk(Workflow::create(c), Value(9)).get("output"), Value(9));  // checked first

  c.whileCond = Condition{};
  c.untilCond = Condition{nullptr, Value::object({{"gt", 2}})};
  r = runOk(Workflow::create(c), Value(0));
  EXPECT_EQ(r.get("output"), Value(3));
  EXPECT_EQ(r.get("steps").asArray().size(), 3u);
}

TEST_F(WorkflowTest, LoopMaxIterationsIsAlwaysEnforced) {
  Config c;
  c.kind = Kind::kLoop;
  c.name = "forever";
  c.body = pure("inc", [](const Value& v) { return add(v, 1); });
  c.whileCond = Condition{nullptr, Value(true)};
  c.maxIterations = 5;
  auto r = runOk(Workflow::create(c), Value(0));
  EXPECT_EQ(r.getString("status"), "failed");
  EXPECT_EQ(r.get("error").getString("code"), "limit_exceeded");
  EXPECT_EQ(r.get("steps").asArray().size(), 5u);

  c.whileCond = Condition{};
  c.times = 6;
  r = runOk(Workflow::create(c), Value(0));
  EXPECT_EQ(r.get("error").getString("code"), "limit_exceeded");
  EXPECT_EQ(r.get("steps").asArray().size(), 0u);
}

TEST_F(WorkflowTest, ManyStepsThatSettleAtOnceDoNotGrowTheStack) {
  Config c;
  c.kind = Kind::kLoop;
  c.body = pure("inc", [](const Value& v) { return add(v, 1); });
  c.times = 50000;
  c.maxIterations = 50000;
  EXPECT_EQ(runOk(Workflow::create(c), Value(0)).get("output"), Value(50000));
  Config seq;
  for (int i = 0; i < 20000; ++i) seq.steps.push_back(pure("", [](const Value& v) { return add(v, 1); }));
  EXPECT_EQ(runOk(Workflow::create(seq), Value(0)).get("output"), Value(20000));
  Config par;
  par.kind = Kind::kParallel;
  par.maxConcurrency = 1;
  par.steps = seq.steps;
  EXPECT_EQ(runOk(Workflow::create(par), Value(0)).get("output").asArray().size(), 20000u);
}

TEST_F(WorkflowTest, AWorkflowThatRunsItselfStopsAtTheNestingLimit) {
  auto self = std::make_shared<WorkflowPtr>();
  Config c;
  c.name = "again";
  c.steps = {Step::fn("recurse", [self](Value in, StepEnv& e) {
    auto p = (*self)->run(in, e.run.nested());
    auto out = Promise::create();
    p->onSettle([out](const Promise& q) {
      const Value& r = q.value();
      if (r.getString("status") == "completed") out->resolve(r.get("output"));
      else out->reject(Error::fromValue(r.get("error")));
    });
    return out;
  })};
  *self = Workflow::create(c);
  auto r = runOk(*self, Value());
  EXPECT_EQ(r.getString("status"), "failed");
  EXPECT_EQ(r.get("error").getString("code"), "limit_exceeded");
  self->reset();
}

TEST_F(WorkflowTest, MapOverTheInputWithBoundedConcurrency) {
  auto pr = std::make_shared<Probe>();
  Config c;
  c.kind = Kind::kMap;
  c.concurrency = 2;
  c.body = sleeper("double", 0.005, pr, [](const Value& v) { return Value(v.asInt() * 2); });
  auto r = runOk(Workflow::create(c), Value::array({1, 2, 3, 4, 5}));
  EXPECT_EQ(r.get("output"), Value::array({2, 4, 6, 8, 10}));
  EXPECT_EQ(pr->maxInflight, 2);
  auto bad = runOk(Workflow::create(c), Value("not a list"));
  EXPECT_EQ(bad.getString("status"), "failed");
  EXPECT_EQ(bad.get("error").getString("code"), "invalid_argument");
}

TEST_F(WorkflowTest, EveryStepGoesThroughTheWorkflowStepHook) {
  std::vector<std::string> seen;
  hooks.add(hook_points::kWorkflowStep, HookKind::kBefore, [&](const Value& ctx, const HookNext&) {
    seen.push_back(ctx.get("args").getString("step"));
    Value a = ctx.get("args").deepCopy();
    a.asObject().set("input", a.get("input").asInt() * 10);
    return Promise::resolved(Value::object({{"args", a}}));
  });
  Config c;
  c.steps = {pure("a", [](const Value& v) { return add(v, 1); }), pure("b", [](const Value& v) { return add(v, 1); })};
  EXPECT_EQ(runOk(Workflow::create(c), Value(1)).get("output"), Value(111));
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b"}));

  // A before hook that cancels fails the step (code cancelled), which on_error then handles.
  hooks.add(hook_points::kWorkflowStep, HookKind::kBefore, [&](const Value& ctx, const HookNext&) {
    if (ctx.get("args").getString("step") == "b") return Promise::resolved(Value::object({{"cancel", "no b"}}));
    return Promise::resolved(Value());
  });
  auto r = runOk(Workflow::create(c), Value(1));
  EXPECT_EQ(r.getString("status"), "failed");
  EXPECT_EQ(r.get("error").getString("code"), "cancelled");
}

TEST_F(WorkflowTest, UsageAndCostAreSummedThroughNestedWorkflows) {
  auto llmLike = [](int64_t tokens, double cost) {
    return pure("call", [tokens, cost](const Value&) {
      return Value::object({{"text", "t"},
                            {"usage", Value::object({{"input_tokens", tokens}, {"total_tokens", tokens}})},
                            {"cost_usd", cost}});
    });
  };
  Config inner;
  inner.name = "inner";
  inner.kind = Kind::kParallel;
  inner.steps = {llmLike(3, 0.25), llmLike(4, 0.25)};
  Config c;
  c.steps = {llmLike(10, 0.5), Step::nested(Workflow::create(inner))};
  auto r = runOk(Workflow::create(c), Value());
  EXPECT_EQ(r.get("usage"), Value::object({{"input_tokens", 17}, {"total_tokens", 17}}));
  EXPECT_DOUBLE_EQ(r.getNumber("cost_usd"), 1.0);
  // The nested workflow's records come with its step record.
  EXPECT_EQ(r.get("steps").asArray()[1].get("steps").asArray().size(), 2u);
  EXPECT_EQ(r.get("steps").asArray()[1].getString("name"), "inner");
}

TEST_F(WorkflowTest, DeclarativeRoundTrip) {
  auto resolve = [](const Value& spec) -> Step {
    std::string n = spec.isString() ? spec.asString() : spec.getString("ref");
    if (n.empty()) fail(codes::kInvalidArgument, "unknown step");
    Step s = pure(n, [n](const Value& v) { return Value(v.asString() + "+" + n); });
    s.kind = "ref";
    s.spec = Value::object({{"ref", n}});
    return s;
  };
  Value spec = parseSpec();
  auto w = Workflow::fromValue(spec, resolve);
  EXPECT_EQ(w->name(), "pipeline");
  auto r = runOk(w, Value("x"));
  EXPECT_EQ(r.get("output"), Value::object({{"a", "x+fetch+a"}, {"b", "x+fetch+b"}}));
  // toValue then fromValue gives the same structure.
  Value again = Workflow::fromValue(w->toValue(), resolve)->toValue();
  EXPECT_EQ(again, w->toValue());

  // Function steps cannot be rebuilt: the error says so.
  Config c;
  c.name = "withfn";
  c.steps = {pure("local", [](const Value& v) { return v; })};
  try {
    Workflow::fromValue(Workflow::create(c)->toValue(), resolve);
    FAIL() << "expected an exception";
  } catch (const Exception& e) {
    EXPECT_EQ(e.error().code, "invalid_argument");
    EXPECT_NE(e.error().message.find("function"), std::string::npos) << e.error().message;
  }
}

TEST_F(WorkflowTest, BadConfigurationsAreRejectedWithTheirField) {
  auto msg = [](Config c) {
    try {
      Workflow::create(std::move(c));
    } catch (const Exception& e) {
      return e.error().message;
    }
    return std::string("no error");
  };
  Config loop;
  loop.kind = Kind::kLoop;
  loop.body = pure("x", [](const Value& v) { return v; });
  EXPECT_EQ(msg(loop), "workflow 'loop': loop needs one of times, items, while or until");
  Config par;
  par.kind = Kind::kParallel;
  par.merge = "sum";
  EXPECT_EQ(msg(par), "workflow 'parallel': merge must be \"list\", \"object\" or a function, got \"sum\"");
  EXPECT_THROW(ErrorPolicy::fromValue(Value("retry"), "w"), Exception);
  EXPECT_THROW(ErrorPolicy::fromValue(Value::object({{"retry", -1}}), "w"), Exception);
}

}  // namespace

}  // namespace llmspell::workflow

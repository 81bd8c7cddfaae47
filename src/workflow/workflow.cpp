// Workflow runs: one RunState per run drives the steps with promise callbacks on the loop, so
// parallel steps really overlap (nothing blocks) and cancellation reaches every step in flight.
#include "llmspell/workflow/workflow.hpp"
#include "llmspell/core/usage.hpp"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <set>
#include <unordered_set>

namespace llmspell::workflow {

namespace {

using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

PromisePtr callSafely(const std::function<PromisePtr()>& f) {
  try {
    PromisePtr p = f();
    return p ? p : Promise::resolved(Value());
  } catch (...) {
    auto p = Promise::create();
    p->rejectCurrentException();
    return p;
  }
}

// Follows a dotted path through objects (and 1-based array indexes, as scripts count).
const Value* lookupPath(const Value& v, const std::string& path) {
  if (path.empty() || path == ".") return &v;
  const Value* cur = &v;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t dot = path.find('.', pos);
    std::string seg = path.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
    if (cur->isObject()) {
      cur = cur->asObject().find(seg);
      if (!cur) return nullptr;
    } else if (cur->isArray() && !seg.empty() &&
               std::all_of(seg.begin(), seg.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      size_t i = std::stoul(seg);
      if (i < 1 || i > cur->asArray().size()) return nullptr;
      cur = &cur->asArray()[i - 1];
    } else {
      return nullptr;
    }
    if (dot == std::string::npos) break;
    pos = dot + 1;
  }
  return cur;
}

const char* const kCondOps[] = {"equals", "not_equals", "exists", "gt", "lt", "contains"};

void checkCondSpec(const Value& spec, const std::string& where) {
  if (spec.isBool()) return;
  if (!spec.isObject())
    fail(codes::kInvalidArgument,
         where + ": expected a function, a boolean or {path, equals|not_equals|exists|gt|lt|"
                 "contains}, got " + spec.describe());
  if (spec.getString("kind") == "function")
    fail(codes::kInvalidArgument,
         where + " is a function, which a declarative workflow cannot carry: use "
                 "{path = \"field\", equals = value} (or exists, not_equals, gt, lt, contains)");
  int ops = 0;
  for (const char* op : kCondOps) ops += spec.asObject().contains(op) ? 1 : 0;
  if (ops != 1)
    fail(codes::kInvalidArgument,
         where + ": a declarative condition needs exactly one of equals, not_equals, exists, "
                 "gt, lt, contains");
  const Value& p = spec.get("path");
  if (!p.isNull() && !p.isString())
    fail(codes::kInvalidArgument, where + ": path must be a string");
}

bool evalDeclarative(const Value& spec, const Value& v) {
  if (spec.isBool()) return spec.asBool();
  const Value* x = lookupPath(v, spec.getString("path", ""));
  const Object& o = spec.asObject();
  if (const Value* e = o.find("exists")) return (x != nullptr && !x->isNull()) == e->truthy();
  if (const Value* e = o.find("equals")) return x ? *x == *e : e->isNull();
  if (const Value* e = o.find("not_equals")) return x ? *x != *e : !e->isNull();
  if (const Value* e = o.find("gt"))
    return x && x->isNumber() && e->isNumber() && x->asNumber() > e->asNumber();
  if (const Value* e = o.find("lt"))
    return x && x->isNumber() && e->isNumber() && x->asNumber() < e->asNumber();
  if (const Value* e = o.find("contains")) {
    if (!x) return false;
    if (x->isString() && e->isString()) return x->asString().find(e->asString()) != std::string::npos;
    if (x->isArray())
      return std::any_of(x->asArray().begin(), x->asArray().end(),
                         [&](const Value& it) { return it == *e; });
    if (x->isObject() && e->isString()) return x->asObject().contains(e->asString());
    return false;
  }
  return false;
}

}  // namespace

std::string_view kindName(Kind k) {
  switch (k) {
    case Kind::kSequential: return "sequential";
    case Kind::kParallel: return "parallel";
    case Kind::kConditional: return "conditional";
    case Kind::kLoop: return "loop";
    case Kind::kMap: return "map";
  }
  return "?";
}

// ---- ErrorPolicy ----

ErrorPolicy ErrorPolicy::fromValue(const Value& v, const std::string& where) {
  ErrorPolicy p;
  if (v.isNull()) return p;
  p.set = true;
  auto modeOf = [&](const std::string& s) {
    if (s == "fail") return Mode::kFail;
    if (s == "continue") return Mode::kContinue;
    fail(codes::kInvalidArgument,
         where + ": on_error must be \"fail\", \"continue\" or {retry = n, backoff = seconds}, "
                 "got \"" + s + "\"");
  };
  if (v.isString()) {
    p.mode = modeOf(v.asString());
    return p;
  }
  if (!v.isObject())
    fail(codes::kInvalidArgument, where + ": on_error must be \"fail\", \"continue\" or "
                                          "{retry = n, backoff = seconds}, got " + v.describe());
  const Value& r = v.get("retry");
  if (!(r.isInt() || (r.isDouble() && r.asDouble() == static_cast<double>(static_cast<int64_t>(r.asDouble())))) ||
      r.asNumber() < 0 || r.asNumber() > 100)
    fail(codes::kInvalidArgument, where + ": on_error.retry must be an integer from 0 to 100");
  p.retries = static_cast<int>(r.asNumber());
  const Value& b = v.get("backoff");
  if (!b.isNull() && (!b.isNumber() || b.asNumber() < 0))
    fail(codes::kInvalidArgument, where + ": on_error.backoff must be a number of seconds >= 0");
  p.backoff = b.isNumber() ? b.asNumber() : 0;
  const Value& t = v.get("then");
  if (!t.isNull()) {
    if (!t.isString()) fail(codes::kInvalidArgument, where + ": on_error.then must be a string");
    p.mode = modeOf(t.asString());
  }
  for (const auto& [k, _] : v.asObject())
    if (k != "retry" && k != "backoff" && k != "then")
      fail(codes::kInvalidArgument, where + ": on_error has an unknown field '" + k + "'");
  return p;
}

Value ErrorPolicy::toValue() const {
  const char* m = mode == Mode::kFail ? "fail" : "continue";
  if (retries == 0) return Value(m);
  Value o = Value::object({{"retry", retries}});
  if (backoff > 0) o.asObject().set("backoff", backoff);
  if (mode == Mode::kContinue) o.asObject().set("then", "continue");
  return o;
}

Value StepEnv::ctxValue() const {
  Value o = Value::object({{"workflow", workflow}, {"step", step}, {"attempt", attempt}});
  if (index >= 0) o.asObject().set("index", index + 1);  // 1-based for scripts
  return o;
}

Step Step::fn(std::string name, StepRun run) {
  Step s;
  s.name = std::move(name);
  s.run = std::move(run);
  return s;
}

Step Step::nested(WorkflowPtr w, std::string name) {
  Step s;
  s.name = name.empty() && w ? w->name() : std::move(name);
  s.kind = "workflow";
  s.workflow = std::move(w);
  return s;
}

// ---- create / validation ----

namespace {

void checkStep(Step& s, const std::string& wf, const std::string& fallbackName) {
  if (s.name.empty()) s.name = fallbackName;
  if (!s.run && !s.workflow)
    fail(codes::kInvalidArgument, "workflow '" + wf + "': step '" + s.name + "' has nothing to run");
  if (s.timeout < 0)
    fail(codes::kInvalidArgument, "workflow '" + wf + "': step '" + s.name + "': timeout must be >= 0");
}

}  // namespace

WorkflowPtr Workflow::create(Config c) {
  if (c.name.empty()) c.name = std::string(kindName(c.kind));
  const std::string& n = c.name;
  auto bad = [&](const std::string& m) { fail(codes::kInvalidArgument, "workflow '" + n + "': " + m); };
  switch (c.kind) {
    case Kind::kSequential:
    case Kind::kParallel: {
      for (size_t i = 0; i < c.steps.size(); ++i) checkStep(c.steps[i], n, "step" + std::to_string(i + 1));
      if (c.kind == Kind::kParallel) {
        if (c.merge == "function" && !c.mergeFn) bad("merge is \"function\" but no function was given");
        if (c.merge != "list" && c.merge != "object" && c.merge != "function")
          bad("merge must be \"list\", \"object\" or a function, got \"" + c.merge + "\"");
        if (c.merge == "object") {
          std::unordered_set<std::string> seen;
          for (const auto& s : c.steps)
            if (!seen.insert(s.name).second)
              bad("two steps are named '" + s.name + "' (merge = \"object\" keys outputs by step name)");
        }
      }
      break;
    }
    case Kind::kConditional: {
      if (c.branches.empty() && !c.otherwise) bad("conditional needs branches or otherwise");
      for (size_t i = 0; i < c.branches.size(); ++i) {
        if (!c.branches[i].when.isSet()) bad("branch " + std::to_string(i + 1) + " has no `when`");
        checkStep(c.branches[i].step, n, "branch" + std::to_string(i + 1));
      }
      if (c.otherwise) checkStep(*c.otherwise, n, "otherwise");
      break;
    }
    case Kind::kLoop: {
      if (!c.body) bad("loop needs a step");
      checkStep(*c.body, n, "body");
      int modes = (c.times >= 0) + !c.items.isNull() + (c.whileCond.isSet() || c.untilCond.isSet());
      if (modes == 0) bad("loop needs one of times, items, while or until");
      if (modes > 1) bad("loop takes only one of times, items, or while/until");
      if (c.maxIterations < 1) bad("max_iterations must be >= 1");
      if (!c.items.isNull() && !c.items.isArray()) bad("items must be an array");
      break;
    }
    case Kind::kMap: {
      if (!c.body) bad("map needs a step");
      checkStep(*c.body, n, "body");
      if (!c.items.isNull() && !c.items.isArray()) bad("items must be an array");
      break;
    }
  }
  return std::make_shared<Workflow>(std::move(c));
}

// ---- running ----

// A set of steps in flight that can be stopped together (one parallel/map fan-out, or the
// current step of a sequential run).
struct Group {
  bool aborted = false;
  std::vector<std::weak_ptr<Promise>> inflight;
  // Nested runs in flight: stopped first, so they end with status "cancelled" and their records
  // reach the step's record before the step's promise is cancelled.
  std::vector<std::function<void(const Error&)>> stoppers;
  void track(const PromisePtr& p) {
    if (!p->pending()) return;
    std::erase_if(inflight, [](const std::weak_ptr<Promise>& w) { return w.expired(); });
    inflight.push_back(p);
  }
  void abort(const Error& reason) {
    aborted = true;
    auto ss = std::move(stoppers);
    stoppers.clear();
    for (auto& f : ss) f(reason);
    auto ps = std::move(inflight);
    inflight.clear();
    for (auto& w : ps)
      if (auto p = w.lock(); p && p->pending()) p->cancel(reason);
  }
};
using GroupPtr = std::shared_ptr<Group>;

struct RunState : std::enable_shared_from_this<RunState> {
  std::shared_ptr<const Workflow> wf;
  RunEnv env;
  PromisePtr out;
  Value input;
  std::vector<Value> records;
  Value usage;
  double cost = 0;
  bool done = false;
  bool stopped = false;
  Error stopReason{codes::kCancelled, "cancelled"};
  Clock::time_point t0 = Clock::now();
  std::vector<GroupPtr> groups;

  RunState(std::shared_ptr<const Workflow> w, const RunEnv& e) : wf(std::move(w)), env(e) {}
  const Config& c() const { return wf->config(); }

  GroupPtr newGroup() {
    auto g = std::make_shared<Group>();
    std::erase_if(groups, [](const GroupPtr& x) { return x->inflight.empty() && x.use_count() == 1; });
    groups.push_back(g);
    if (stopped) g->aborted = true;
    return g;
  }

  void emit(std::string_view name, Value data) {
    if (!env.bus) return;
    try {
      env.bus->emit(name, std::move(data));
    } catch (...) {
      // A subscriber problem never breaks the run (the bus logs it).
    }
  }

  const ErrorPolicy& policyOf(const Step& s) const { return s.onError.set ? s.onError : c().onError; }

  // Stops everything in flight (run cancelled from outside, or Workflow::cancel).
  void stopAll(const Error& reason) {
    stopped = true;
    stopReason = reason;
    auto gs = groups;
    for (auto& g : gs) g->abort(reason);
  }
  // Stops the run and resolves it with status "cancelled" and the records so far.
  void stopGracefully(const Error& reason) {
    if (done) return;
    stopAll(reason);
    finish("cancelled", Value(), std::make_shared<Error>(reason));
  }

  static std::shared_ptr<RunState> launch(const Workflow& w, Value input, const RunEnv& env);

  void finish(const std::string& status, Value output, const ErrorPtr& err) {
    if (done) return;
    done = true;
    double ms = msSince(t0);
    Value r = Value::object({{"output", std::move(output)},
                             {"status", status},
                             {"steps", Value::array(std::move(records))},
                             {"usage", usage.isObject() ? usage : Value::object()},
                             {"cost_usd", cost},
                             {"duration_ms", ms}});
    Value ev = Value::object({{"workflow", c().name}, {"status", status}, {"duration_ms", ms}});
    if (err) {
      r.asObject().set("error", err->toObject());
      ev.asObject().set("error", err->toObject());
    }
    emit("workflow.finish", std::move(ev));
    auto o = out;
    o->resolve(std::move(r));
  }

  void failWith(const Step* s, const Value& rec) {
    Error e = Error::fromValue(rec.get("error"));
    auto err = std::make_shared<Error>(e);
    if (s) {
      err->message = "step '" + s->name + "' failed: " + e.message;
      err->cause = std::make_shared<Error>(e);
      Value d = e.details.isObject() ? e.details.deepCopy() : Value::object();
      d.asObject().set("step", s->name);
      d.asObject().set("workflow", c().name);
      err->details = d;
    }
    finish("failed", Value(), err);
  }

  // Runs one step (with its retries) and resolves with its record
  // {name, status, output, error, duration_ms, attempts[, index]}; never rejects.
  // Steps that settle at once would continue the run from inside their own callbacks, one C++
  // frame deeper per step; after kMaxSyncChain of them in a row the record is handed over
  // through the loop, so the stack unwinds and long runs never overflow it.
  static constexpr int kMaxSyncChain = 32;
  int syncChain = 0;

  PromisePtr runStep(const Step& s, Value in, int64_t index, const GroupPtr& g) {
    auto rec = Promise::create();
    std::string key;
    if (env.journal && !g->aborted && !done) {
      key = env.journal->next(env.journalPath + "/" + c().name + "." + s.name +
                              (index >= 0 ? "[" + std::to_string(index) + "]" : ""));
      if (replay(s, index, key, rec)) return rec;
    }
    attempt(&s, std::move(in), index, g, 1, Clock::now(), rec, key);
    if (rec->pending()) {
      syncChain = 0;
      return rec;
    }
    if (++syncChain < kMaxSyncChain) return rec;
    syncChain = 0;
    auto later = Promise::create();
    env.loop.post([later, rec] { later->resolve(rec->value()); });
    return later;
  }

  // A durable run's step that completed before: its record from the journal. False when the
  // journal has none.
  bool replay(const Step& s, int64_t index, const std::string& key, const PromisePtr& rec) {
    Value hit = env.journal->find(key);
    if (hit.isNull()) return false;
    ++env.journal->replayed;
    Value r = Value::object({{"name", s.name}, {"status", "completed"}});
    if (index >= 0) r.asObject().set("index", index + 1);
    r.asObject().set("duration_ms", 0.0);
    r.asObject().set("attempts", 0);
    r.asObject().set("output", hit.get("output"));
    if (hit.get("usage").isObject() || hit.get("cost_usd").isNumber())
      account(r, hit.get("usage"), hit.getNumber("cost_usd", 0));
    if (hit.get("details").isObject())
      for (const auto& [kk, vv] : hit.get("details").asObject()) r.asObject().set(kk, vv);
    r.asObject().set("replayed", true);
    settleRecord(&s, std::move(r), rec);
    return true;
  }

  // Records a completed step in a durable run's journal. A step whose output cannot be
  // recorded (a function, a handle) or a store that fails turns the record into a failure:
  // a durable run never silently loses the work it would have to redo.
  void journalRecord(const std::string& key, Value& r) {
    try {
      Value entry = Value::object({{"output", r.get("output")}});
      if (r.get("usage").isObject()) entry.asObject().set("usage", r.get("usage"));
      if (r.get("cost_usd").isNumber()) entry.asObject().set("cost_usd", r.get("cost_usd"));
      if (r.get("steps").isArray()) entry.asObject().set("details", Value::object({{"steps", r.get("steps")}}));
      env.journal->record(key, entry);
    } catch (const Exception& e) {
      r.asObject().set("status", "failed");
      r.asObject().set("error", e.error().toObject());
    }
  }

  void attempt(const Step* s, Value in, int64_t index, GroupPtr g, int k, Clock::time_point start,
               PromisePtr rec, const std::string& key) {
    auto self = shared_from_this();
    auto makeRecord = [s, index, start, k](const char* status) {
      Value r = Value::object({{"name", s->name}, {"status", status}});
      if (index >= 0) r.asObject().set("index", index + 1);
      r.asObject().set("duration_ms", msSince(start));
      r.asObject().set("attempts", k);
      return r;
    };
    if (g->aborted || done) {
      Value r = makeRecord("cancelled");
      r.asObject().set("error", (stopped ? stopReason : Error(codes::kCancelled, "cancelled")).toObject());
      settleRecord(s, std::move(r), rec);
      return;
    }
    auto senv = std::make_shared<StepEnv>(StepEnv{env, c().name, s->name, k, index, {}, 0, false, {}, key});
    Value hargs = Value::object({{"workflow", c().name}, {"step", s->name}, {"input", in}, {"attempt", k}});
    if (index >= 0) hargs.asObject().set("index", index + 1);
    HookRegistry& hooks = env.hooks ? *env.hooks : HookRegistry::global();
    PromisePtr p = hooks.run(hook_points::kWorkflowStep, std::move(hargs),
                             [self, s, senv, in, g](Value a) -> PromisePtr {
                               Value input = a.isObject() && a.asObject().contains("input") ? a.get("input") : in;
                               return self->invoke(*s, std::move(input), *senv, g);
                             });
    Loop::TimerHandle timer;
    if (s->timeout > 0 && p->pending()) {
      double secs = s->timeout;
      timer = env.loop.setTimeout(secs, [w = std::weak_ptr<Promise>(p), secs] {
        if (auto q = w.lock())
          q->cancel(Error(codes::kTimeout, "timed out after " + fmtSecs(secs), true));
      });
    }
    g->track(p);
    p->onSettle([self, s, in, index, g, k, start, rec, senv, timer, makeRecord](const Promise& q) mutable {
      timer.cancel();
      if (q.fulfilled()) {
        Value r = makeRecord("completed");
        r.asObject().set("output", q.value());
        if (senv->accounted) {
          self->account(r, senv->usage, senv->costUsd);
        } else if (q.value().isObject() && (q.value().get("usage").isObject() || q.value().get("cost_usd").isNumber())) {
          self->account(r, q.value().get("usage"), q.value().getNumber("cost_usd", 0));
        }
        if (senv->details.isObject())
          for (const auto& [kk, vv] : senv->details.asObject()) r.asObject().set(kk, vv);
        if (!senv->journalKey.empty()) self->journalRecord(senv->journalKey, r);
        self->settleRecord(s, std::move(r), rec);
        return;
      }
      const_cast<Promise&>(q).markHandled();
      Value spent = Value::object();  // a failed step still spent what it spent
      if (senv->accounted) self->account(spent, senv->usage, senv->costUsd);
      if (g->aborted || self->done) {
        Value r = makeRecord("cancelled");
        for (const auto& [kk, vv] : spent.asObject()) r.asObject().set(kk, vv);
        r.asObject().set("error", q.error().toObject());
        if (senv->details.isObject())
          for (const auto& [kk, vv] : senv->details.asObject()) r.asObject().set(kk, vv);
        self->settleRecord(s, std::move(r), rec);
        return;
      }
      const ErrorPolicy& pol = self->policyOf(*s);
      if (k <= pol.retries) {
        double wait = pol.backoff * static_cast<double>(1LL << std::min(k - 1, 20));
        auto next = [self, s, in, index, g, k, start, rec, key = senv->journalKey]() {
          self->attempt(s, in, index, g, k + 1, start, rec, key);
        };
        if (wait <= 0) {
          next();
          return;
        }
        PromisePtr sl = self->env.loop.sleep(wait);
        g->track(sl);
        sl->onSettle([next, self, s, index, start, k, rec, g](const Promise& sq) {
          if (sq.fulfilled() && !g->aborted && !self->done) {
            next();
            return;
          }
          const_cast<Promise&>(sq).markHandled();
          Value r = Value::object({{"name", s->name}, {"status", "cancelled"}});
          if (index >= 0) r.asObject().set("index", index + 1);
          r.asObject().set("duration_ms", msSince(start));
          r.asObject().set("attempts", k);
          r.asObject().set("error", Error(codes::kCancelled, "cancelled during retry backoff").toObject());
          self->settleRecord(s, std::move(r), rec);
        });
        return;
      }
      Value r = makeRecord("failed");
      for (const auto& [kk, vv] : spent.asObject()) r.asObject().set(kk, vv);
      r.asObject().set("error", q.error().toObject());
      if (senv->details.isObject())
        for (const auto& [kk, vv] : senv->details.asObject()) r.asObject().set(kk, vv);
      self->settleRecord(s, std::move(r), rec);
    });
  }

  static std::string fmtSecs(double s) {
    char buf[32];
    snprintf(buf, sizeof buf, "%gs", s);
    return buf;
  }

  // A step's usage and cost: into its record and the run's totals.
  void account(Value& record, const Value& u, double costUsd) {
    addUsage(usage, u);
    cost += costUsd;
    if (u.isObject()) record.asObject().set("usage", u);
    record.asObject().set("cost_usd", costUsd);
  }

  void settleRecord(const Step* s, Value r, const PromisePtr& rec) {
    Value ev = Value::object({{"workflow", c().name},
                              {"step", s->name},
                              {"status", r.get("status")},
                              {"duration_ms", r.get("duration_ms")}});
    if (r.asObject().contains("index")) ev.asObject().set("index", r.get("index"));
    if (r.get("error").isObject()) ev.asObject().set("error", r.get("error").get("code"));
    emit("workflow.step", std::move(ev));
    rec->resolve(std::move(r));
  }

  // The step itself: a nested workflow or the step's run function.
  PromisePtr invoke(const Step& s, Value input, StepEnv& senv, const GroupPtr& g) {
    if (s.workflow) {
      RunEnv ne = env.nested();
      ne.journalPath = senv.journalKey;
      auto nst = launch(*s.workflow, std::move(input), ne);
      PromisePtr np = nst->out;
      if (np->pending())
        g->stoppers.push_back([w = std::weak_ptr<RunState>(nst)](const Error& reason) {
          if (auto n = w.lock()) n->stopGracefully(reason);
        });
      auto q = Promise::create();
      StepEnv* pe = &senv;  // valid until q settles (the record callback holds the StepEnv)
      np->onSettle([q, pe](const Promise& r) {
        if (r.rejected()) {
          const_cast<Promise&>(r).markHandled();
          q->reject(r.error());
          return;
        }
        const Value& res = r.value();
        pe->accounted = true;
        addUsage(pe->usage, res.get("usage"));
        pe->costUsd += res.getNumber("cost_usd", 0);
        pe->details = Value::object({{"steps", res.get("steps")}});
        std::string st = res.getString("status");
        if (st == "completed") q->resolve(res.get("output"));
        else if (st == "cancelled")
          q->reject(res.get("error").isObject() ? Error::fromValue(res.get("error"))
                                                : Error(codes::kCancelled, "nested workflow cancelled"));
        else q->reject(Error::fromValue(res.get("error")));
      });
      q->setCanceller([np] { if (np->pending()) np->cancel(); });
      return q;
    }
    return callSafely([&] { return s.run(std::move(input), senv); });
  }

  // Evaluates a condition with `args` (first one is the value it tests).
  PromisePtr evalCond(const Condition& cond, std::vector<Value> args, const GroupPtr& g) {
    if (!cond.fn) return Promise::resolved(Value(evalDeclarative(cond.spec, args[0])));
    auto senv = std::make_shared<StepEnv>(StepEnv{env, c().name, "condition", 1, -1, {}, 0, false, {}});
    PromisePtr p = callSafely([&] { return cond.fn(std::move(args), *senv); });
    g->track(p);
    p->onSettle([senv](const Promise&) {});
    return p;
  }

  // ---- kinds ----

  void start() {
    switch (c().kind) {
      case Kind::kSequential: runSequential(0, input, newGroup()); break;
      case Kind::kParallel: {
        std::vector<std::pair<const Step*, Value>> work;
        for (const auto& s : c().steps) work.emplace_back(&s, input);
        fanOut(std::move(work), c().maxConcurrency, false);
        break;
      }
      case Kind::kMap: {
        const Value& items = c().items.isNull() ? input : c().items;
        if (items.isObject() && items.asObject().empty()) {
          finish("completed", Value::array(), nullptr);
          return;
        }
        if (!items.isArray()) {
          finish("failed", Value(),
                 makeError(codes::kInvalidArgument,
                           "workflow '" + c().name + "': map needs items or an array input, got " +
                               items.describe()));
          return;
        }
        std::vector<std::pair<const Step*, Value>> work;
        for (const auto& it : items.asArray()) work.emplace_back(&*c().body, it);
        fanOut(std::move(work), c().concurrency, true);
        break;
      }
      case Kind::kConditional: runBranch(0, newGroup()); break;
      case Kind::kLoop: startLoop(); break;
    }
  }

  void runSequential(size_t i, Value value, GroupPtr g) {
    if (done) return;
    if (i == c().steps.size()) {
      finish("completed", std::move(value), nullptr);
      return;
    }
    const Step* s = &c().steps[i];
    auto self = shared_from_this();
    runStep(*s, value, -1, g)->onSettle([self, s, i, value, g](const Promise& rp) {
      if (self->done) return;
      const Value& r = rp.value();
      self->records.push_back(r);
      std::string st = r.getString("status");
      if (st == "completed") self->runSequential(i + 1, r.get("output"), g);
      else if (st == "cancelled") self->finish("cancelled", Value(), std::make_shared<Error>(self->stopReason));
      else if (self->policyOf(*s).mode == ErrorPolicy::Mode::kContinue) self->runSequential(i + 1, value, g);
      else self->failWith(s, r);
    });
  }

  // Parallel and map: `work` items run with at most `limit` in flight (0: all).
  struct Fan {
    std::vector<std::pair<const Step*, Value>> work;
    std::vector<Value> recs;
    size_t next = 0, running = 0, finished = 0;
    size_t limit = 0;
    bool indexed = false;
    bool failed = false;
    const Step* failedStep = nullptr;
    Value failedRec;
    GroupPtr g;
  };

  void fanOut(std::vector<std::pair<const Step*, Value>> work, size_t limit, bool indexed) {
    auto f = std::make_shared<Fan>();
    f->recs.resize(work.size());
    f->work = std::move(work);
    f->limit = limit == 0 ? f->work.size() : limit;
    f->indexed = indexed;
    f->g = newGroup();
    if (f->work.empty()) {
      fanDone(f);
      return;
    }
    launch(f);
  }

  void launch(const std::shared_ptr<Fan>& f) {
    auto self = shared_from_this();
    while (!done && !f->failed && !f->g->aborted && f->running < f->limit && f->next < f->work.size()) {
      size_t i = f->next++;
      ++f->running;
      const Step* s = f->work[i].first;
      runStep(*s, f->work[i].second, f->indexed ? static_cast<int64_t>(i) : -1, f->g)
          ->onSettle([self, f, i, s](const Promise& rp) {
            --f->running;
            ++f->finished;
            const Value& r = rp.value();
            f->recs[i] = r;
            if (r.getString("status") == "failed" && !f->failed &&
                self->policyOf(*s).mode == ErrorPolicy::Mode::kFail) {
              f->failed = true;
              f->failedStep = s;
              f->failedRec = r;
              f->g->abort(Error(codes::kCancelled, "cancelled: step '" + s->name + "' failed"));
            }
            if (self->done) return;
            if (f->running == 0 && (f->next == f->work.size() || f->failed || f->g->aborted))
              self->fanDone(f);
            else
              self->launch(f);
          });
    }
  }

  void fanDone(const std::shared_ptr<Fan>& f) {
    if (done) return;
    bool cancelled = false;
    for (size_t i = 0; i < f->next; ++i) {
      records.push_back(f->recs[i]);
      if (f->recs[i].getString("status") == "cancelled") cancelled = true;
    }
    if (f->failed) {
      failWith(f->failedStep, f->failedRec);
      return;
    }
    if (stopped || (cancelled && f->g->aborted)) {
      finish("cancelled", Value(), std::make_shared<Error>(stopReason));
      return;
    }
    const std::string& merge = f->indexed ? std::string("list") : c().merge;
    if (merge == "object") {
      Value o = Value::object();
      for (size_t i = 0; i < f->recs.size(); ++i)
        if (f->recs[i].getString("status") == "completed")
          o.asObject().set(f->recs[i].getString("name"), f->recs[i].get("output"));
      finish("completed", std::move(o), nullptr);
      return;
    }
    if (merge == "function") {
      std::vector<Value> rs;
      for (const auto& r : f->recs) {
        Value x = Value::object({{"name", r.get("name")}, {"status", r.get("status")}, {"output", r.get("output")}});
        if (r.get("error").isObject()) x.asObject().set("error", r.get("error"));
        rs.push_back(std::move(x));
      }
      auto self = shared_from_this();
      evalCond(Condition{c().mergeFn, {}}, {Value::array(std::move(rs)), input}, f->g)
          ->onSettle([self](const Promise& m) {
            if (self->done) return;
            if (m.fulfilled()) {
              self->finish("completed", m.value(), nullptr);
            } else {
              const_cast<Promise&>(m).markHandled();
              auto e = std::make_shared<Error>(m.error());
              e->message = "merge function failed: " + e->message;
              self->finish("failed", Value(), e);
            }
          });
      return;
    }
    std::vector<Value> outs;
    for (const auto& r : f->recs) outs.push_back(r.get("output"));
    finish("completed", Value::array(std::move(outs)), nullptr);
  }

  void condFailed(const char* what, const Promise& q) {
    const_cast<Promise&>(q).markHandled();
    if (stopped) {
      finish("cancelled", Value(), std::make_shared<Error>(stopReason));
      return;
    }
    auto e = std::make_shared<Error>(q.error());
    e->message = std::string(what) + " failed: " + e->message;
    finish("failed", Value(), e);
  }

  void runBranch(size_t i, GroupPtr g) {
    if (done) return;
    auto self = shared_from_this();
    if (i == c().branches.size()) {
      if (c().otherwise) runChosen(&*c().otherwise, Value("otherwise"), g);
      else finish("completed", input, nullptr);
      return;
    }
    evalCond(c().branches[i].when, {input}, g)->onSettle([self, i, g](const Promise& q) {
      if (self->done) return;
      if (q.rejected()) return self->condFailed(("branch " + std::to_string(i + 1) + " `when`").c_str(), q);
      if (q.value().truthy()) self->runChosen(&self->c().branches[i].step, Value(static_cast<int64_t>(i + 1)), g);
      else self->runBranch(i + 1, g);
    });
  }

  void runChosen(const Step* s, Value branch, GroupPtr g) {
    auto self = shared_from_this();
    runStep(*s, input, -1, g)->onSettle([self, s, branch](const Promise& rp) {
      if (self->done) return;
      Value r = rp.value();
      r.asObject().set("branch", branch);
      self->records.push_back(r);
      std::string st = r.getString("status");
      if (st == "completed") self->finish("completed", r.get("output"), nullptr);
      else if (st == "cancelled") self->finish("cancelled", Value(), std::make_shared<Error>(self->stopReason));
      else if (self->policyOf(*s).mode == ErrorPolicy::Mode::kContinue) self->finish("completed", self->input, nullptr);
      else self->failWith(s, r);
    });
  }

  void limitExceeded(const std::string& why) {
    finish("failed", Value(),
           makeError(codes::kLimitExceeded, "workflow '" + c().name + "': " + why));
  }

  void startLoop() {
    const Config& cf = c();
    auto g = newGroup();
    if (!cf.items.isNull()) {
      if (static_cast<int64_t>(cf.items.asArray().size()) > cf.maxIterations)
        return limitExceeded(std::to_string(cf.items.asArray().size()) + " items exceed max_iterations (" +
                             std::to_string(cf.maxIterations) + ")");
      loopItems(0, std::make_shared<std::vector<Value>>(), g);
      return;
    }
    if (cf.times >= 0 && cf.times > cf.maxIterations)
      return limitExceeded("times (" + std::to_string(cf.times) + ") exceeds max_iterations (" +
                           std::to_string(cf.maxIterations) + ")");
    loopStep(0, input, g);
  }

  void loopItems(size_t i, std::shared_ptr<std::vector<Value>> outs, GroupPtr g) {
    if (done) return;
    const Array& items = c().items.asArray();
    if (i == items.size()) {
      finish("completed", Value::array(std::move(*outs)), nullptr);
      return;
    }
    auto self = shared_from_this();
    runStep(*c().body, items[i], static_cast<int64_t>(i), g)->onSettle([self, i, outs, g](const Promise& rp) {
      if (self->done) return;
      const Value& r = rp.value();
      self->records.push_back(r);
      std::string st = r.getString("status");
      if (st == "completed") outs->push_back(r.get("output"));
      else if (st == "cancelled") return self->finish("cancelled", Value(), std::make_shared<Error>(self->stopReason));
      else if (self->policyOf(*self->c().body).mode == ErrorPolicy::Mode::kContinue) outs->push_back(Value());
      else return self->failWith(&*self->c().body, r);
      self->loopItems(i + 1, outs, g);
    });
  }

  // times / while / until: the output of one iteration is the input of the next.
  void loopStep(int64_t i, Value value, GroupPtr g) {
    if (done) return;
    const Config& cf = c();
    auto self = shared_from_this();
    if (cf.times >= 0) {
      if (i == cf.times) return finish("completed", std::move(value), nullptr);
      return loopBody(i, std::move(value), g);
    }
    if (cf.whileCond.isSet()) {
      evalCond(cf.whileCond, {value, Value(i)}, g)->onSettle([self, i, value, g](const Promise& q) {
        if (self->done) return;
        if (q.rejected()) return self->condFailed("`while`", q);
        if (!q.value().truthy()) return self->finish("completed", value, nullptr);
        self->loopBody(i, value, g);
      });
      return;
    }
    loopBody(i, std::move(value), g);
  }

  void loopBody(int64_t i, Value value, GroupPtr g) {
    const Config& cf = c();
    if (i >= cf.maxIterations)
      return limitExceeded("loop still running after max_iterations (" + std::to_string(cf.maxIterations) + ")");
    auto self = shared_from_this();
    runStep(*cf.body, value, i, g)->onSettle([self, i, value, g](const Promise& rp) {
      if (self->done) return;
      const Value& r = rp.value();
      self->records.push_back(r);
      std::string st = r.getString("status");
      Value next;
      if (st == "completed") next = r.get("output");
      else if (st == "cancelled") return self->finish("cancelled", Value(), std::make_shared<Error>(self->stopReason));
      else if (self->policyOf(*self->c().body).mode == ErrorPolicy::Mode::kContinue) next = value;
      else return self->failWith(&*self->c().body, r);
      if (self->c().untilCond.isSet()) {
        self->evalCond(self->c().untilCond, {next, Value(i + 1)}, g)->onSettle([self, i, next, g](const Promise& q) {
          if (self->done) return;
          if (q.rejected()) return self->condFailed("`until`", q);
          if (q.value().truthy()) return self->finish("completed", next, nullptr);
          self->loopStep(i + 1, next, g);
        });
        return;
      }
      self->loopStep(i + 1, next, g);
    });
  }
};

std::shared_ptr<RunState> RunState::launch(const Workflow& w, Value input, const RunEnv& env) {
  auto st = std::make_shared<RunState>(w.shared_from_this(), env);
  st->input = std::move(input);
  st->out = Promise::create();
  PromisePtr out = st->out;
  {
    std::lock_guard<std::mutex> lk(w.activeMu_);
    std::erase_if(w.active_, [](const std::weak_ptr<void>& x) { return x.expired(); });
    w.active_.push_back(st);
  }
  // Settling `out` while the run is still going means someone cancelled it (or a timeout did):
  // stop every step in flight. The state lives until `out` settles.
  out->onSettle([st](const Promise& o) {
    if (st->done) return;
    st->done = true;
    Error reason = o.rejected() ? o.error() : Error(codes::kCancelled, "cancelled");
    st->stopAll(reason);
    st->emit("workflow.finish", Value::object({{"workflow", st->c().name},
                                                {"status", "cancelled"},
                                                {"duration_ms", msSince(st->t0)},
                                                {"error", reason.toObject()}}));
  });
  st->emit("workflow.start", Value::object({{"workflow", w.c_.name}, {"kind", kindName(w.c_.kind)}}));
  if (env.depth > RunEnv::kMaxNesting) {
    st->finish("failed", Value(),
               makeError(codes::kLimitExceeded,
                         "workflow '" + w.c_.name + "' is nested more than " +
                             std::to_string(RunEnv::kMaxNesting) + " deep (does a workflow run itself?)"));
    return st;
  }
  try {
    st->start();
  } catch (...) {
    if (!st->done) {
      auto p = Promise::create();
      p->rejectCurrentException();
      p->markHandled();
      st->finish("failed", Value(), p->errorPtr());
    }
  }
  return st;
}

PromisePtr Workflow::run(Value input, const RunEnv& env) const {
  return RunState::launch(*this, std::move(input), env)->out;
}

size_t Workflow::cancel() const {
  std::vector<std::shared_ptr<RunState>> runs;
  {
    std::lock_guard<std::mutex> lk(activeMu_);
    for (auto& w : active_)
      if (auto p = w.lock()) runs.push_back(std::static_pointer_cast<RunState>(p));
  }
  size_t n = 0;
  for (auto& st : runs) {
    if (st->done) continue;
    ++n;
    st->stopGracefully(Error(codes::kCancelled, "workflow '" + c_.name + "' cancelled"));
  }
  return n;
}

// ---- declarative form ----

namespace {

Value condToValue(const Condition& c) {
  if (c.fn) return Value::object({{"kind", "function"}});
  return c.spec;
}

Value stepToValue(const Step& s) {
  Value o = Value::object({{"name", s.name}, {"kind", s.kind}});
  if (s.workflow) o.asObject().set("workflow", s.workflow->toValue());
  if (s.spec.isObject())
    for (const auto& [k, v] : s.spec.asObject()) o.asObject().set(k, v);
  if (s.onError.set) o.asObject().set("on_error", s.onError.toValue());
  if (s.timeout > 0) o.asObject().set("timeout", s.timeout);
  return o;
}

Kind kindFromName(const Value& t, const std::string& where) {
  std::string n = t.isString() ? t.asString() : "";
  for (Kind k : {Kind::kSequential, Kind::kParallel, Kind::kConditional, Kind::kLoop, Kind::kMap})
    if (n == kindName(k)) return k;
  fail(codes::kInvalidArgument,
       where + ": type must be \"sequential\", \"parallel\", \"conditional\", \"loop\" or \"map\", got " +
           t.describe());
}

int64_t intField(const Value& spec, const char* f, int64_t lo, const std::string& where, int64_t dflt) {
  const Value& v = spec.get(f);
  if (v.isNull()) return dflt;
  if (!v.isNumber() || v.asNumber() != static_cast<double>(static_cast<int64_t>(v.asNumber())) ||
      v.asNumber() < static_cast<double>(lo))
    fail(codes::kInvalidArgument, where + ": " + f + " must be an integer >= " + std::to_string(lo));
  return static_cast<int64_t>(v.asNumber());
}

Step stepFromSpec(const Value& v, const StepResolver& resolve, const std::string& where);

WorkflowPtr fromSpec(const Value& spec, const StepResolver& resolve, const std::string& outer) {
  if (!spec.isObject())
    fail(codes::kInvalidArgument, outer + ": a workflow is an object {type, name, ...}, got " + spec.describe());
  Config c;
  c.kind = kindFromName(spec.get("type"), outer);
  c.name = spec.getString("name", std::string(kindName(c.kind)));
  std::string where = "workflow '" + c.name + "'";
  c.onError = ErrorPolicy::fromValue(spec.get("on_error"), where);
  auto list = [&](const char* f) {
    const Value& v = spec.get(f);
    if (v.isNull() || (v.isObject() && v.asObject().empty())) return std::vector<Value>{};
    if (!v.isArray()) fail(codes::kInvalidArgument, where + ": " + f + " must be a list");
    return v.asArray().items();
  };
  auto cond = [&](const Value& v, const std::string& label) {
    checkCondSpec(v, where + ": " + label);
    return Condition{nullptr, v};
  };
  switch (c.kind) {
    case Kind::kSequential:
    case Kind::kParallel: {
      auto steps = list("steps");
      for (size_t i = 0; i < steps.size(); ++i)
        c.steps.push_back(stepFromSpec(steps[i], resolve, where + ": step " + std::to_string(i + 1)));
      c.maxConcurrency = static_cast<size_t>(intField(spec, "max_concurrency", 1, where, 0));
      const Value& m = spec.get("merge");
      if (m.isString()) c.merge = m.asString();
      else if (m.isObject() && m.getString("kind") == "function")
        fail(codes::kInvalidArgument,
             where + ": merge was a function, which a declarative workflow cannot carry: use \"list\" "
                     "or \"object\"");
      else if (!m.isNull()) fail(codes::kInvalidArgument, where + ": merge must be \"list\" or \"object\"");
      break;
    }
    case Kind::kConditional: {
      auto bs = list("branches");
      for (size_t i = 0; i < bs.size(); ++i) {
        std::string label = "branch " + std::to_string(i + 1);
        if (!bs[i].isObject()) fail(codes::kInvalidArgument, where + ": " + label + " must be {when, step}");
        c.branches.push_back({cond(bs[i].get("when"), label + " `when`"),
                              stepFromSpec(bs[i].get("step"), resolve, where + ": " + label)});
      }
      if (!spec.get("otherwise").isNull())
        c.otherwise = stepFromSpec(spec.get("otherwise"), resolve, where + ": otherwise");
      break;
    }
    case Kind::kLoop:
    case Kind::kMap: {
      if (spec.get("step").isNull()) fail(codes::kInvalidArgument, where + ": step is missing");
      c.body = stepFromSpec(spec.get("step"), resolve, where + ": step");
      if (!spec.get("items").isNull()) c.items = Value::array(list("items"));
      if (c.kind == Kind::kMap) {
        c.concurrency = static_cast<size_t>(intField(spec, "concurrency", 1, where, 0));
        break;
      }
      c.times = intField(spec, "times", 0, where, -1);
      if (!spec.get("while").isNull()) c.whileCond = cond(spec.get("while"), "while");
      if (!spec.get("until").isNull()) c.untilCond = cond(spec.get("until"), "until");
      c.maxIterations = intField(spec, "max_iterations", 1, where, 100);
      break;
    }
  }
  return Workflow::create(std::move(c));
}

Step stepFromSpec(const Value& v, const StepResolver& resolve, const std::string& where) {
  if (v.isNull()) fail(codes::kInvalidArgument, where + " is missing");
  Step s;
  if (v.isObject() && v.get("type").isString()) {
    s = Step::nested(fromSpec(v, resolve, where));
  } else if (v.isObject() && v.get("workflow").isObject()) {
    s = Step::nested(fromSpec(v.get("workflow"), resolve, where));
  } else if (v.isObject() && v.getString("kind") == "function") {
    std::string label = v.getString("name", "?");
    fail(codes::kInvalidArgument,
         where + ": step '" + label + "' is a function step, which to_json cannot carry: define a "
                 "tool or register a workflow with that name and refer to it by name "
                 "({tool = \"...\"} or {workflow = \"...\"})");
  } else {
    try {
      s = resolve(v);
    } catch (Exception& e) {
      e.error().message = where + ": " + e.error().message;
      throw;
    }
  }
  if (v.isObject()) {
    if (v.get("name").isString()) s.name = v.get("name").asString();
    if (!v.get("on_error").isNull()) s.onError = ErrorPolicy::fromValue(v.get("on_error"), where);
    const Value& t = v.get("timeout");
    if (t.isNumber() && t.asNumber() > 0) s.timeout = t.asNumber();
    else if (!t.isNull()) fail(codes::kInvalidArgument, where + ": timeout must be a number of seconds > 0");
  }
  return s;
}

}  // namespace

WorkflowPtr Workflow::fromValue(const Value& spec, const StepResolver& resolve) {
  return fromSpec(spec, resolve, "workflow");
}

Value Workflow::toValue() const {
  Value o = Value::object({{"type", kindName(c_.kind)}, {"name", c_.name}, {"on_error", c_.onError.toValue()}});
  Object& m = o.asObject();
  auto steps = [](const std::vector<Step>& ss) {
    std::vector<Value> out;
    for (const auto& s : ss) out.push_back(stepToValue(s));
    return Value::array(std::move(out));
  };
  switch (c_.kind) {
    case Kind::kSequential: m.set("steps", steps(c_.steps)); break;
    case Kind::kParallel:
      m.set("steps", steps(c_.steps));
      if (c_.maxConcurrency > 0) m.set("max_concurrency", static_cast<int64_t>(c_.maxConcurrency));
      m.set("merge", c_.merge == "function" ? Value::object({{"kind", "function"}}) : Value(c_.merge));
      break;
    case Kind::kConditional: {
      std::vector<Value> bs;
      for (const auto& b : c_.branches)
        bs.push_back(Value::object({{"when", condToValue(b.when)}, {"step", stepToValue(b.step)}}));
      m.set("branches", Value::array(std::move(bs)));
      if (c_.otherwise) m.set("otherwise", stepToValue(*c_.otherwise));
      break;
    }
    case Kind::kLoop:
      m.set("step", stepToValue(*c_.body));
      if (c_.times >= 0) m.set("times", c_.times);
      if (!c_.items.isNull()) m.set("items", c_.items);
      if (c_.whileCond.isSet()) m.set("while", condToValue(c_.whileCond));
      if (c_.untilCond.isSet()) m.set("until", condToValue(c_.untilCond));
      m.set("max_iterations", c_.maxIterations);
      break;
    case Kind::kMap:
      m.set("step", stepToValue(*c_.body));
      if (!c_.items.isNull()) m.set("items", c_.items);
      if (c_.concurrency > 0) m.set("concurrency", static_cast<int64_t>(c_.concurrency));
      break;
  }
  return o;
}

}  // namespace llmspell::workflow

// `test` namespace: describe/it suites with hooks, expect(x) matchers, spies and mocks, and the
// runner (test.run) that `llmspell test` calls after a test file's main chunk. It is all
// host-side over script function values, so every engine runs tests the same way; only the
// matcher names handed back by expect follow each engine's convention (toEqual and .not in JS).
#include <re2/re2.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>

#include "bridge/modules/llm_service.hpp"
#include "llmspell/core/read_file.hpp"
#include "llmspell/bridge/call_mocks.hpp"
#include "llmspell/bridge/call_trace.hpp"
#include "llmspell/bridge/names.hpp"
#include "llmspell/bridge/registry.hpp"
#include "llmspell/core/convert.hpp"
#include "llmspell/core/safe_fs.hpp"
#include "llmspell/core/schema.hpp"
#include "llmspell/core/suggest.hpp"

namespace llmspell {

namespace {

// A failed expectation. Not one of the standard codes: it is only ever raised by a matcher, and
// a test that expects a spell's own validation_failed must not be confused by it.
constexpr std::string_view kAssertionFailed = "assertion_failed";
constexpr double kDefaultTimeout = 5;  // seconds per test or hook, as in Jest

struct TestCase {
  std::string name;
  FunctionPtr fn;  // null for test.skip(name)
  bool skip = false;
  bool only = false;
  double timeout = 0;  // 0: the suite's, else the run's default
  std::string replay;  // a recording (--record) that answers the test's llm calls
};

struct Suite {
  std::string name;  // "" for the file's top level
  Suite* parent = nullptr;
  bool skip = false;
  bool only = false;
  double timeout = 0;
  std::vector<FunctionPtr> beforeAll, afterAll, beforeEach, afterEach;
  struct Child {
    std::unique_ptr<Suite> suite;  // set for a describe, else `test` is the case
    TestCase test;
  };
  std::vector<Child> children;
};

// What the LLM layer looked like before test.mock_llm changed it.
struct LlmMockSaved {
  bool active = false;
  std::string chosen;
};

// A run's declared tests and the state of the runner (a RunContext service).
struct TestState {
  Suite root;
  Suite* current = &root;
  bool anyOnly = false;
  bool running = false;  // test.run has started: no more declarations
  LlmMockSaved llm;
  // Tengo has no exceptions: a host failure comes back as an error value and the script goes
  // on. A failed matcher there also lands here and fails the test when it ends (as Go's
  // t.Errorf does); Lua and JS raise it where it stands.
  std::optional<Error> softFailure;
  Value report;  // test.run's result, once it has run: a second call returns it
};

TestState& stateOf(CallContext& cx) {
  return cx.run.service<TestState>([] { return std::make_shared<TestState>(); });
}

// ---- declarations ----

void checkDeclaring(TestState& st, std::string_view what) {
  if (st.running)
    fail(codes::kInvalidArgument, std::string(what) +
                                      " inside a running test: declare tests and hooks at the top of the file "
                                      "or in describe bodies");
}

double timeoutOpt(const Value& opts) {
  const Value& t = opts.get("timeout");
  return t.isNumber() ? t.asNumber() : 0;
}

void addCase(CallContext& cx, const Value& name, const Value& fn, const Value& opts, bool skip, bool only) {
  TestState& st = stateOf(cx);
  checkDeclaring(st, cx.qualifiedName);
  TestCase t;
  t.name = name.asString();
  if (fn.isFunction()) t.fn = fn.asFunction();
  t.skip = skip || opts.getBool("skip") || !t.fn;
  t.only = only || opts.getBool("only");
  t.timeout = timeoutOpt(opts);
  t.replay = opts.getString("replay");
  if (t.only) st.anyOnly = true;
  st.current->children.push_back(Suite::Child{nullptr, std::move(t)});
}

// Calls a function that must not wait (a describe body), raising what it raised.
void callAtOnce(const FunctionPtr& fn, const std::string& what) {
  PromisePtr p = fn->call({});
  if (p->pending()) {
    p->cancel();
    fail(codes::kInvalidArgument, what + ": the body waited; declare tests there, and wait inside test.it or the hooks");
  }
  p->markHandled();
  if (p->rejected()) throw Exception(p->error());
}

// ---- values in messages ----

std::string show(const Value& v) {
  if (v.isString()) return toJsonText(v);
  if (v.isError()) return "error (" + v.asError()->toString() + ")";
  if (v.isNull() || v.isBool() || v.isNumber()) return toJsonText(v);
  if (v.isArray() || v.isObject()) {
    try {
      std::string s = toJsonText(v);
      return s.size() > 200 ? s.substr(0, 197) + "..." : s;
    } catch (const Exception&) {
    }
  }
  return v.describe();
}

// Array positions as the engine counts them (Lua from 1).
struct Paths {
  int base = 0;
  std::string index(const std::string& at, size_t i) const { return at + "[" + std::to_string(i + base) + "]"; }
  static std::string key(const std::string& at, const std::string& k) {
    bool plain = !k.empty() && (isalpha(static_cast<unsigned char>(k[0])) || k[0] == '_');
    for (char ch : k) plain = plain && (isalnum(static_cast<unsigned char>(ch)) || ch == '_');
    return plain ? at + "." + k : at + "[" + toJsonText(Value(k)) + "]";
  }
};

bool emptyContainer(const Value& v) {
  return (v.isObject() && v.asObject().empty()) || (v.isArray() && v.asArray().empty());
}

// Deep equality where an empty Lua table equals an empty array and 1 equals 1.0.
bool deepEqual(const Value& a, const Value& b) {
  if (emptyContainer(a) && emptyContainer(b)) return true;
  if (a.isArray() && b.isArray()) {
    if (a.asArray().size() != b.asArray().size()) return false;
    for (size_t i = 0; i < a.asArray().size(); ++i)
      if (!deepEqual(a.asArray()[i], b.asArray()[i])) return false;
    return true;
  }
  if (a.isObject() && b.isObject()) {
    if (a.asObject().size() != b.asObject().size()) return false;
    for (const auto& [k, x] : a.asObject()) {
      const Value* y = b.asObject().find(k);
      if (!y || !deepEqual(x, *y)) return false;
    }
    return true;
  }
  return a == b;
}

// The places where `actual` and `expected` differ, one line each, at most `limit`.
void diff(const Value& actual, const Value& expected, const std::string& at, const Paths& paths,
          std::vector<std::string>& out, size_t limit) {
  if (out.size() >= limit || deepEqual(actual, expected)) return;
  if (actual.isArray() && expected.isArray()) {
    const auto& a = actual.asArray();
    const auto& e = expected.asArray();
    for (size_t i = 0; i < std::max(a.size(), e.size()) && out.size() < limit; ++i) {
      if (i >= a.size()) out.push_back(paths.index(at, i) + ": missing, expected " + show(e[i]));
      else if (i >= e.size()) out.push_back(paths.index(at, i) + ": unexpected " + show(a[i]));
      else diff(a[i], e[i], paths.index(at, i), paths, out, limit);
    }
    return;
  }
  if (actual.isObject() && expected.isObject()) {
    for (const auto& [k, x] : expected.asObject()) {
      if (out.size() >= limit) return;
      const Value* y = actual.asObject().find(k);
      if (!y) out.push_back(Paths::key(at, k) + ": missing, expected " + show(x));
      else diff(*y, x, Paths::key(at, k), paths, out, limit);
    }
    for (const auto& [k, y] : actual.asObject()) {
      if (out.size() >= limit) return;
      if (!expected.asObject().find(k)) out.push_back(Paths::key(at, k) + ": unexpected " + show(y));
    }
    return;
  }
  out.push_back(at + ": expected " + show(expected) + ", got " + show(actual));
}

// ---- expectations ----

class Expectation : public HostObject {
 public:
  Expectation(Value actual, bool negated) : actual(std::move(actual)), negated(negated) {}
  std::string_view typeName() const override { return "expectation"; }
  Value actual;
  bool negated;
};

Expectation& expectationOf(const Value& v) {
  auto* e = v.isHandle() ? dynamic_cast<Expectation*>(v.asHandle().get()) : nullptr;
  if (!e) fail(codes::kInvalidArgument, "expected the value test.expect returned");
  return *e;
}

// Passes when `pass` (or, negated, when it does not); else raises assertion_failed with the
// message for the way it was asked.
void verdict(const Expectation& e, bool pass, const std::string& positive, const std::string& negative,
             Value details = Value()) {
  if (pass != e.negated) return;
  Error err(kAssertionFailed, e.negated ? negative : positive);
  err.details = details;
  throw Exception(err);
}

// Truthiness as the engine's own `if` sees it.
bool truthyIn(const std::string& engine, const Value& v) {
  if (engine == "lua") return v.truthy();
  if (v.isNull() || (v.isBool() && !v.asBool())) return false;
  if (v.isNumber()) return v.asNumber() != 0 && !std::isnan(v.asNumber());
  if (v.isString()) return !v.asString().empty();
  if (engine == "tengo") return !emptyContainer(v);
  return true;
}

size_t codePoints(const std::string& s) {
  size_t n = 0;
  for (unsigned char ch : s) n += (ch & 0xC0) != 0x80;
  return n;
}

// Does `err` match to_throw's argument: its code, or a piece of its message?
bool errorMatches(const Error& err, const Value& want) {
  if (want.isNull()) return true;
  const std::string& w = want.asString();
  return err.code == w || err.message.find(w) != std::string::npos;
}

// The error a call ended with: raised, or (Tengo, which has no exceptions) returned.
std::optional<Error> outcomeError(const Promise& p, bool tengo) {
  if (p.rejected()) return p.error();
  if (tengo && p.value().isError()) return *p.value().asError();
  return std::nullopt;
}

void toThrowVerdict(const Expectation& e, const Promise& p, const Value& want, bool tengo) {
  std::string what = want.isNull() ? "an error" : "an error matching " + show(want);
  std::optional<Error> raised = outcomeError(p, tengo);
  if (!raised) {
    verdict(e, false, "expected " + what + ", but the function returned " + show(p.value()), "");
    return;
  }
  const Error& err = *raised;
  verdict(e, errorMatches(err, want), "expected " + what + ", got " + err.toString(),
          "expected no " + what + ", got " + err.toString());
}

// ---- spies ----

class Spy : public Function {
 public:
  explicit Spy(FunctionPtr inner) : inner_(std::move(inner)) {}
  PromisePtr call(std::vector<Value> args) override {
    calls.emplace_back(Value::array(args));
    return inner_ ? inner_->call(std::move(args)) : Promise::resolved(Value());
  }
  std::string describe() const override { return "spy"; }
  std::vector<Value> calls;

 private:
  FunctionPtr inner_;
};

Spy& spyOf(const Value& v, std::string_view who) {
  auto* s = v.isFunction() ? dynamic_cast<Spy*>(v.asFunction().get()) : nullptr;
  if (!s) fail(codes::kInvalidArgument, std::string(who) + ": expected a function made by test.spy, got " + v.describe());
  return *s;
}

// ---- cassettes ----

// The file a test's `replay` option names: relative to the spell's directory, where a spell
// keeps its test data, and readable without a grant inside that directory; anywhere else it
// needs --allow-read (its replies reach the spell).
std::string cassettePath(RunContext& run, const std::string& given) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path dir = weaklyCanonicalPath(run.spellDir, ec);
  fs::path p = weaklyCanonicalPath(fs::path(run.spellDir) / given, ec);
  auto rel = p.lexically_relative(dir);
  if (!rel.empty() && *rel.begin() != "..") return p.string();
  return safefs::forRead(run.permissions(), given).abs.string();
}

// Answers the run's llm calls from `path` until the returned function is called, which puts the
// run's own recording (--replay) back, or none.
std::function<void()> replayFor(RunContext& run, Loop& loop, const std::string& given) {
  CallContext cx{run, loop, "test.it"};
  LlmService& s = LlmService::of(cx);
  std::string before = s.client.replayPath();
  s.client.replayFrom(cassettePath(run, given));
  return [&run, before] {
    if (auto* svc = run.findService<LlmService>()) {
      if (before.empty()) svc->client.stopReplaying();
      else svc->client.replayFrom(before);
    }
  };
}

// ---- the runner ----

class Runner : public std::enable_shared_from_this<Runner> {
 public:
  Runner(RunContext& run, Loop& loop, TestState& st, const Value& opts)
      : run_(run), loop_(loop), st_(st), out_(Promise::create()) {
    std::string f = opts.getString("filter");
    if (!f.empty()) {
      filter_ = std::make_unique<RE2>(f, RE2::Quiet);
      if (!filter_->ok()) fail(codes::kInvalidArgument, "test.run: filter is not a valid regular expression: " + filter_->error());
    }
    if (opts.get("test_timeout").isNumber()) defaultTimeout_ = opts.getNumber("test_timeout");
  }

  PromisePtr start() {
    st_.running = true;
    t0_ = std::chrono::steady_clock::now();
    auto self = shared_from_this();
    runSuite(&st_.root, {}, false, [self] { self->finish(); });
    return out_;
  }

 private:
  using Done = std::function<void()>;
  using ErrDone = std::function<void(std::optional<Error>)>;

  static std::string join(const std::vector<std::string>& path, const std::string& last) {
    std::string s;
    for (const auto& p : path) s += p + " > ";
    return s + last;
  }
  bool selected(const std::vector<std::string>& path, const TestCase& t) const {
    return !filter_ || RE2::PartialMatch(join(path, t.name), *filter_);
  }
  bool willRun(const TestCase& t, bool inOnly, bool skipped) const {
    return !skipped && !t.skip && (!st_.anyOnly || inOnly || t.only);
  }
  // Does any case below `s` run (so its before_all / after_all hooks are worth running)?
  bool anyRuns(const Suite* s, std::vector<std::string> path, bool inOnly, bool skipped) const {
    if (!s->name.empty()) path.push_back(s->name);
    inOnly = inOnly || s->only;
    skipped = skipped || s->skip;
    for (const auto& c : s->children) {
      if (c.suite ? anyRuns(c.suite.get(), path, inOnly, skipped)
                  : willRun(c.test, inOnly, skipped) && selected(path, c.test))
        return true;
    }
    return false;
  }

  void record(const std::vector<std::string>& path, const std::string& name, std::string_view status,
              double ms, const std::optional<Error>& err) {
    Value r = Value::object({{"name", name},
                             {"full_name", join(path, name)},
                             {"status", status},
                             {"duration_ms", ms}});
    std::vector<Value> suite(path.begin(), path.end());
    r.asObject().set("suite", Value::array(std::move(suite)));
    if (err) r.asObject().set("error", err->toObject());
    results_.push_back(std::move(r));
    (status == "passed" ? passed_ : status == "failed" ? failed_ : skipped_)++;
  }

  // Reports every selected case below `s` as skipped, or as failed with `err`.
  void reportAll(const Suite* s, std::vector<std::string> path, const std::optional<Error>& err) {
    if (!s->name.empty()) path.push_back(s->name);
    for (const auto& c : s->children) {
      if (c.suite) reportAll(c.suite.get(), path, err);
      else if (selected(path, c.test)) record(path, c.test.name, err ? "failed" : "skipped", 0, err);
    }
  }

  double timeoutFor(const Suite* s, double own) const {
    if (own > 0) return own;
    for (; s; s = s->parent)
      if (s->timeout > 0) return s->timeout;
    return defaultTimeout_;
  }

  // Calls `fn` and reports its outcome, or a timeout error after `secs` (the call is cancelled).
  void callTimed(const FunctionPtr& fn, double secs, const std::string& what, ErrDone done) {
    if (stopped_) return done(*stopped_);
    st_.softFailure.reset();
    PromisePtr p = fn->call({});
    auto once = std::make_shared<bool>(false);
    auto settle = [this, once, done](std::optional<Error> err) {
      if (*once) return;
      *once = true;
      if (!err) err = st_.softFailure;
      st_.softFailure.reset();
      // A limit stop ends the run: nothing after it can run.
      if (err && err->code == codes::kLimitExceeded && !stopped_) stopped_ = err;
      done(std::move(err));
    };
    bool tengo = run_.engine == "tengo";
    if (!p->pending()) {
      p->markHandled();
      return settle(outcomeError(*p, tengo));
    }
    auto timer = loop_.setTimeout(secs, [w = std::weak_ptr<Promise>(p), settle, secs, what] {
      Error e(codes::kTimeout, what + " timed out after " + fmtSeconds(secs) +
                                   " (set a longer one with {timeout = seconds})");
      settle(e);
      if (auto q = w.lock()) q->cancel(e);
    });
    p->onSettle([settle, timer, tengo](const Promise& q) mutable {
      timer.cancel();
      const_cast<Promise&>(q).markHandled();
      settle(outcomeError(q, tengo));
    });
  }

  // Runs hooks one after another. Before-hooks stop at the first failure; after-hooks all run,
  // and the first failure is reported.
  void runHooks(std::shared_ptr<std::vector<FunctionPtr>> hooks, size_t i, double secs, std::string what,
                bool stopOnError, std::optional<Error> first, ErrDone done) {
    if (i >= hooks->size() || (first && stopOnError)) return done(std::move(first));
    auto self = shared_from_this();
    callTimed((*hooks)[i], secs, what, [self, hooks, i, secs, what, stopOnError, first, done](std::optional<Error> err) {
      self->runHooks(hooks, i + 1, secs, what, stopOnError, first ? first : err, done);
    });
  }

  // Puts back the mocks a test or suite installed, and the LLM layer test.mock_llm changed.
  void restore(const std::unordered_map<std::string, FunctionPtr>& mocks, bool llmWasMocked) {
    if (auto* m = run_.findService<CallMocks>()) m->byName = mocks;
    if (st_.llm.active && !llmWasMocked) {
      if (auto* s = run_.findService<LlmService>()) {
        s->chosen = st_.llm.chosen;
        s->client.setMockReplies({});
      }
      st_.llm = LlmMockSaved{};
    }
  }
  std::unordered_map<std::string, FunctionPtr> mocksNow() {
    auto* m = run_.findService<CallMocks>();
    return m ? m->byName : std::unordered_map<std::string, FunctionPtr>{};
  }

  void runSuite(Suite* s, std::vector<std::string> outer, bool inOnly, Done done) {
    if (!anyRuns(s, outer, inOnly, false)) {
      reportAll(s, outer, std::nullopt);
      return done();
    }
    std::vector<std::string> path = outer;
    if (!s->name.empty()) path.push_back(s->name);
    inOnly = inOnly || s->only;
    auto self = shared_from_this();
    auto mocks = std::make_shared<std::unordered_map<std::string, FunctionPtr>>(mocksNow());
    bool llmWas = st_.llm.active;
    double secs = timeoutFor(s, 0);
    std::string label = s->name.empty() ? "the file's" : "'" + s->name + "'";
    runHooks(std::make_shared<std::vector<FunctionPtr>>(s->beforeAll), 0, secs, "before_all hook of " + label, true,
             std::nullopt, [=](std::optional<Error> err) {
               auto after = [=] {
                 self->runHooks(std::make_shared<std::vector<FunctionPtr>>(s->afterAll), 0, secs,
                                "after_all hook of " + label, false, std::nullopt, [=](std::optional<Error> e2) {
                                  if (e2) self->record(path, "after_all hook", "failed", 0, e2);
                                  self->restore(*mocks, llmWas);
                                  done();
                                });
               };
               if (err) {
                 Error e = *err;
                 e.message = "before_all hook failed: " + e.message;
                 self->reportAll(s, outer, e);
                 return after();
               }
               self->runChildren(s, 0, path, inOnly, after);
             });
  }

  void runChildren(Suite* s, size_t i, std::vector<std::string> path, bool inOnly, Done done) {
    if (i >= s->children.size()) return done();
    auto self = shared_from_this();
    // Each next step starts from the loop, so a file of many quick tests does not nest calls.
    Done next = [self, s, i, path, inOnly, done] {
      self->loop_.post([self, s, i, path, inOnly, done] { self->runChildren(s, i + 1, path, inOnly, done); });
    };
    auto& c = s->children[i];
    if (c.suite) return runSuite(c.suite.get(), path, inOnly, next);
    runCase(s, c.test, path, inOnly, next);
  }

  void runCase(Suite* s, const TestCase& t, const std::vector<std::string>& path, bool inOnly, Done done) {
    if (!selected(path, t)) return done();
    if (!willRun(t, inOnly, false)) {
      record(path, t.name, "skipped", 0, std::nullopt);
      return done();
    }
    auto before = std::make_shared<std::vector<FunctionPtr>>();
    auto after = std::make_shared<std::vector<FunctionPtr>>();
    std::vector<Suite*> chain;
    for (Suite* p = s; p; p = p->parent) chain.insert(chain.begin(), p);
    for (Suite* p : chain) before->insert(before->end(), p->beforeEach.begin(), p->beforeEach.end());
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) after->insert(after->end(), (*it)->afterEach.begin(), (*it)->afterEach.end());
    auto self = shared_from_this();
    auto mocks = std::make_shared<std::unordered_map<std::string, FunctionPtr>>(mocksNow());
    bool llmWas = st_.llm.active;
    double secs = timeoutFor(s, t.timeout);
    auto t0 = std::chrono::steady_clock::now();
    std::string name = t.name;
    FunctionPtr fn = t.fn;
    std::function<void()> unreplay;
    std::optional<Error> replayErr;
    if (!t.replay.empty()) {
      try {
        unreplay = replayFor(run_, loop_, t.replay);
      } catch (const Exception& e) {
        replayErr = e.error();
      }
    }
    auto end = [=](std::optional<Error> err) {
      self->runHooks(after, 0, secs, "after_each hook", false, std::nullopt, [=](std::optional<Error> e2) {
        self->restore(*mocks, llmWas);
        if (unreplay) unreplay();
        double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        std::optional<Error> e = err ? err : e2;
        self->record(path, name, e ? "failed" : "passed", ms, e);
        done();
      });
    };
    runHooks(before, 0, secs, "before_each hook", true, replayErr, [=](std::optional<Error> err) {
      if (err) return end(err);
      self->callTimed(fn, secs, "test '" + name + "'", end);
    });
  }

  void finish() {
    st_.running = false;
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0_).count();
    if (stopped_) return out_->reject(*stopped_);
    st_.report = Value::object({{"passed", static_cast<int64_t>(passed_)},
                                 {"failed", static_cast<int64_t>(failed_)},
                                 {"skipped", static_cast<int64_t>(skipped_)},
                                 {"duration_ms", ms},
                                 {"tests", Value::array(std::move(results_))}});
    out_->resolve(st_.report);
  }

  RunContext& run_;
  Loop& loop_;
  TestState& st_;
  PromisePtr out_;
  std::unique_ptr<RE2> filter_;
  double defaultTimeout_ = kDefaultTimeout;
  std::vector<Value> results_;
  size_t passed_ = 0, failed_ = 0, skipped_ = 0;
  std::optional<Error> stopped_;
  std::chrono::steady_clock::time_point t0_;
};

// The object test.expect returns: the registry's expectation methods bound to one expectation,
// named as the engine names things, plus the negated set under `never` / `not_` (`not` in JS).
Value boundMatchers(CallContext& cx, const HostObjectPtr& e, const HostObjectPtr& negated) {
  RunContext* run = &cx.run;
  Loop* loop = &cx.loop;
  bool js = run->engine == "js";
  bool soft = run->engine == "tengo";
  auto bind = [&](const HostObjectPtr& h) {
    Value obj = Value::object();
    for (const auto& d : Registry::global().functions()) {
      if (d.self != "expectation") continue;
      const std::string& q = d.qualifiedName();
      const FunctionDecl* decl = &d;  // the registry outlives every run
      auto f = std::make_shared<HostFunction>(
          [run, loop, q, h, soft, decl](std::vector<Value> args) {
            traceScriptCall(*decl);  // the script called the matcher, for the coverage table
            args.insert(args.begin(), Value(h));
            CallContext inner{*run, *loop, q};
            PromisePtr p = Registry::invoke(q, inner, std::move(args));
            if (soft)
              p->onSettle([run](const Promise& r) {
                TestState* st = run->findService<TestState>();
                if (st && st->running && r.rejected() && r.error().code == kAssertionFailed && !st->softFailure)
                  st->softFailure = r.error();
              });
            return p;
          },
          q);
      obj.asObject().set(js ? camelCase(d.name) : d.name, Value(FunctionPtr(f)));
    }
    return obj;
  };
  Value obj = bind(e);
  Value neg = bind(negated);
  if (js) {
    obj.asObject().set("not", neg);
  } else {
    obj.asObject().set("never", neg);
    obj.asObject().set("not_", neg);
  }
  return obj;
}

void declareMatchers(Registry& r) {
  r.type("expectation", "What test.expect(value) checks; its matchers raise assertion_failed when they do not hold");
  auto m = [&](const char* name) { return r.method("expectation", name).param("self", R"({"type":"handle"})"); };
  m("to_equal")
      .param("expected", "{}", "any value")
      .doc("Deep equality (tables/objects and arrays by content, 1 == 1.0); the failure lists each path that differs")
      .sync([](CallContext& cx, Args a) -> Value {
        auto& e = expectationOf(a[0]);
        std::vector<std::string> lines;
        Paths paths{cx.run.engine == "lua" ? 1 : 0};
        diff(e.actual, a[1], "$", paths, lines, 10);
        std::string msg = "expected values to be equal:";
        for (const auto& l : lines) msg += "\n  " + l;
        std::vector<Value> diffs(lines.begin(), lines.end());
        verdict(e, lines.empty(), msg, "expected values to differ, both are " + show(e.actual),
                Value::object({{"diff", Value::array(std::move(diffs))}}));
        return Value();
      });
  m("to_be")
      .param("expected", "{}", "a string, number, boolean or nil (or the same function or handle)")
      .doc("Identity: equal scalars, or the very same function or handle; tables are compared with to_equal")
      .sync([](CallContext&, Args a) -> Value {
        auto& e = expectationOf(a[0]);
        if (a[1].isArray() || a[1].isObject())
          fail(codes::kInvalidArgument, "to_be compares strings, numbers, booleans, nil, functions and handles; "
                                        "compare tables and arrays by content with to_equal");
        verdict(e, e.actual == a[1], "expected " + show(e.actual) + " to be " + show(a[1]),
                "expected a value other than " + show(a[1]));
        return Value();
      });
  m("to_be_truthy")
      .doc("The value counts as true in the engine's own conditions (Lua: not nil or false; JS and Tengo: also not 0 or \"\")")
      .sync([](CallContext& cx, Args a) -> Value {
        auto& e = expectationOf(a[0]);
        verdict(e, truthyIn(cx.run.engine, e.actual), "expected " + show(e.actual) + " to be truthy",
                "expected " + show(e.actual) + " to be falsy");
        return Value();
      });
  m("to_contain")
      .param("item", "{}", "a substring, an array element (deep equality), or an object key")
      .doc("A string contains a substring, an array an element, an object a key")
      .sync([](CallContext&, Args a) -> Value {
        auto& e = expectationOf(a[0]);
        const Value& x = e.actual;
        bool has = false;
        if (x.isString() && a[1].isString()) has = x.asString().find(a[1].asString()) != std::string::npos;
        else if (x.isArray()) {
          for (const auto& v : x.asArray()) has = has || deepEqual(v, a[1]);
        } else if (x.isObject() && a[1].isString()) has = x.asObject().contains(a[1].asString());
        else if (!(emptyContainer(x)))
          fail(codes::kInvalidArgument, "to_contain needs a string, array or object to look in, got " + x.describe());
        verdict(e, has, "expected " + show(x) + " to contain " + show(a[1]),
                "expected " + show(x) + " not to contain " + show(a[1]));
        return Value();
      });
  m("to_match")
      .param("pattern", R"({"type":"string"})", "a regular expression (RE2 syntax, the same in every engine)")
      .doc("The string matches the pattern somewhere (RE2 syntax in every engine; anchor with ^ and $)")
      .sync([](CallContext&, Args a) -> Value {
        auto& e = expectationOf(a[0]);
        RE2 re(a[1].asString(), RE2::Quiet);
        if (!re.ok()) fail(codes::kInvalidArgument, "to_match: " + show(a[1]) + " is not a valid RE2 pattern: " + re.error());
        if (!e.actual.isString()) fail(codes::kInvalidArgument, "to_match needs a string, got " + e.actual.describe());
        verdict(e, RE2::PartialMatch(e.actual.asString(), re), "expected " + show(e.actual) + " to match /" + a[1].asString() + "/",
                "expected " + show(e.actual) + " not to match /" + a[1].asString() + "/");
        return Value();
      });
  m("to_be_close_to")
      .param("expected", R"({"type":"number"})")
      .opt("tolerance", R"({"type":"number","minimum":0,"default":1e-9})", "largest allowed difference; default 1e-9")
      .doc("A number within tolerance of the expected one")
      .sync([](CallContext&, Args a) -> Value {
        auto& e = expectationOf(a[0]);
        if (!e.actual.isNumber()) fail(codes::kInvalidArgument, "to_be_close_to needs a number, got " + e.actual.describe());
        double d = std::fabs(e.actual.asNumber() - a[1].asNumber());
        std::string tol = a[2].describe();
        verdict(e, d <= a[2].asNumber(), "expected " + show(e.actual) + " to be within " + tol + " of " + show(a[1]),
                "expected " + show(e.actual) + " not to be within " + tol + " of " + show(a[1]));
        return Value();
      });
  m("to_have_length")
      .param("n", R"({"type":"integer","minimum":0})")
      .doc("A string's length in characters (code points), an array's or object's number of entries")
      .sync([](CallContext&, Args a) -> Value {
        auto& e = expectationOf(a[0]);
        const Value& x = e.actual;
        size_t n = x.isString() ? codePoints(x.asString()) : x.isArray() ? x.asArray().size()
                   : x.isObject()                         ? x.asObject().size()
                                                          : SIZE_MAX;
        if (n == SIZE_MAX) fail(codes::kInvalidArgument, "to_have_length needs a string, array or object, got " + x.describe());
        verdict(e, static_cast<int64_t>(n) == a[1].asInt(),
                "expected length " + a[1].describe() + ", got " + std::to_string(n) + " (" + show(x) + ")",
                "expected a length other than " + a[1].describe());
        return Value();
      });
  m("to_throw")
      .opt("code", R"({"type":"string"})", "the error's code, or a piece of its message")
      .doc("Calling the function (or awaiting the promise) raises an error, matching code when given; waits when "
           "the function waits (in JS, await the matcher)")
      .async([](CallContext& cx, Args a) -> PromisePtr {
        auto& e = expectationOf(a[0]);
        bool tengo = cx.run.engine == "tengo";
        PromisePtr p;
        if (e.actual.isFunction()) p = e.actual.asFunction()->call({});
        else if (e.actual.isPromise()) p = e.actual.asPromise();
        else fail(codes::kInvalidArgument, "to_throw needs a function (or a promise), got " + e.actual.describe());
        auto out = Promise::create();
        HostObjectPtr keep = a[0].asHandle();
        Value want = a[1];
        p->onSettle([out, keep, want, tengo](const Promise& q) {
          const_cast<Promise&>(q).markHandled();
          try {
            toThrowVerdict(static_cast<const Expectation&>(*keep), q, want, tengo);
            out->resolve(Value());
          } catch (const Exception& ex) {
            out->reject(ex.error());
          }
        });
        return out;
      });
  m("to_satisfy_schema")
      .param("schema", R"({"type":["object","string"]})", "a JSON Schema (table or JSON text)")
      .doc("The value is valid against a JSON Schema (the same validator as schema.validate); the failure lists the problems")
      .sync([](CallContext&, Args a) -> Value {
        auto& e = expectationOf(a[0]);
        Value schema = a[1].isString() ? parseJson(a[1].asString()) : a[1];
        auto errs = validateSchema(e.actual, schema);
        std::string msg = "expected the value to satisfy the schema:";
        for (size_t i = 0; i < errs.size() && i < 10; ++i) msg += "\n  " + errs[i];
        std::vector<Value> list(errs.begin(), errs.end());
        verdict(e, errs.empty(), msg, "expected the value not to satisfy the schema",
                Value::object({{"errors", Value::array(std::move(list))}}));
        return Value();
      });
  m("to_have_been_called")
      .opt("times", R"({"type":"integer","minimum":0})", "exactly this many calls; default at least one")
      .doc("A test.spy function was called (times: exactly that often)")
      .sync([](CallContext&, Args a) -> Value {
        auto& e = expectationOf(a[0]);
        size_t n = spyOf(e.actual, "to_have_been_called").calls.size();
        std::string got = "called " + std::to_string(n) + " time" + (n == 1 ? "" : "s");
        if (a[1].isNull()) verdict(e, n > 0, "expected the spy to be called, it never was", "expected the spy not to be called, it was " + got);
        else verdict(e, static_cast<int64_t>(n) == a[1].asInt(), "expected the spy to be called " + a[1].describe() + " times, it was " + got,
                     "expected the spy not to be called " + a[1].describe() + " times");
        return Value();
      });
  r.method("expectation", "to_have_been_called_with")
      .param("self", R"({"type":"handle"})")
      .variadic()
      .doc("Some call of a test.spy function had exactly these arguments (deep equality)")
      .sync([](CallContext&, Args a) -> Value {
        auto& e = expectationOf(a[0]);
        Value want = Value::array(std::vector<Value>(a.begin() + 1, a.end()));
        const auto& calls = spyOf(e.actual, "to_have_been_called_with").calls;
        bool found = false;
        for (const auto& c : calls) found = found || deepEqual(c, want);
        std::string seen;
        for (const auto& c : calls) seen += "\n  " + show(c);
        verdict(e, found, "expected a call with " + show(want) + (calls.empty() ? ", the spy was never called" : "; its calls:" + seen),
                "expected no call with " + show(want));
        return Value();
      });
}

}  // namespace

void llmspell_register_test(Registry& r) {
  r.fn("test", "describe")
      .param("name", R"({"type":"string"})")
      .param("fn", R"({"type":"function"})", "declares the group's tests and hooks; must not wait")
      .opt("opts", R"({"type":"object","properties":{"timeout":{"type":"number","exclusiveMinimum":0},"skip":{"type":"boolean"},"only":{"type":"boolean"}}})",
           "{timeout (seconds, for its tests and hooks), skip, only}")
      .doc("A group of tests; its hooks apply to the tests inside it")
      .sync([](CallContext& cx, Args a) -> Value {
        TestState& st = stateOf(cx);
        checkDeclaring(st, "test.describe");
        auto s = std::make_unique<Suite>();
        s->name = a[0].asString();
        s->parent = st.current;
        s->skip = a[2].getBool("skip");
        s->only = a[2].getBool("only");
        s->timeout = timeoutOpt(a[2]);
        if (s->only) st.anyOnly = true;
        Suite* raw = s.get();
        st.current->children.push_back(Suite::Child{std::move(s), {}});
        st.current = raw;
        try {
          callAtOnce(a[1].asFunction(), "test.describe('" + raw->name + "')");
        } catch (...) {
          st.current = raw->parent;
          throw;
        }
        st.current = raw->parent;
        return Value();
      });
  const char* kTestOpts =
      R"({"type":"object","properties":{"timeout":{"type":"number","exclusiveMinimum":0},"skip":{"type":"boolean"},"only":{"type":"boolean"},"replay":{"type":"string","minLength":1}}})";
  r.fn("test", "it")
      .param("name", R"({"type":"string"})")
      .param("fn", R"({"type":"function"})", "the test; it may wait (sleep, llm calls, await)")
      .opt("opts", kTestOpts,
           "{timeout (seconds, default 5), skip, only, replay (a --record file, relative to the spell's directory, "
           "that answers the test's llm calls)}")
      .doc("A test: passes unless it raises an error (a failed expect raises assertion_failed)")
      .sync([](CallContext& cx, Args a) -> Value {
        addCase(cx, a[0], a[1], a[2], false, false);
        return Value();
      });
  r.fn("test", "skip")
      .param("name", R"({"type":"string"})")
      .opt("fn", R"({"type":"function"})")
      .opt("opts", kTestOpts)
      .doc("A test reported as skipped and not run")
      .sync([](CallContext& cx, Args a) -> Value {
        addCase(cx, a[0], a[1], a[2], true, false);
        return Value();
      });
  r.fn("test", "only")
      .param("name", R"({"type":"string"})")
      .param("fn", R"({"type":"function"})")
      .opt("opts", kTestOpts)
      .doc("A test that runs while the file's tests not marked only are skipped")
      .sync([](CallContext& cx, Args a) -> Value {
        addCase(cx, a[0], a[1], a[2], false, true);
        return Value();
      });
  struct Hook {
    const char* name;
    std::vector<FunctionPtr> Suite::*list;
    const char* doc;
  };
  for (const Hook& h : {Hook{"before_all", &Suite::beforeAll, "Runs once before the tests of the enclosing describe (or file)"},
                        Hook{"after_all", &Suite::afterAll, "Runs once after the tests of the enclosing describe (or file), even when they fail"},
                        Hook{"before_each", &Suite::beforeEach, "Runs before each test of the enclosing describe (or file), outer hooks first"},
                        Hook{"after_each", &Suite::afterEach, "Runs after each test of the enclosing describe (or file), even when it fails"}}) {
    auto list = h.list;
    std::string q = std::string("test.") + h.name;
    r.fn("test", h.name)
        .param("fn", R"({"type":"function"})", "may wait")
        .doc(h.doc)
        .sync([list, q](CallContext& cx, Args a) -> Value {
          TestState& st = stateOf(cx);
          checkDeclaring(st, q);
          (st.current->*list).push_back(a[0].asFunction());
          return Value();
        });
  }
  declareMatchers(r);
  r.fn("test", "expect")
      .param("value", "{}", "the value to check (a function or promise for to_throw, a spy for to_have_been_called)")
      .returns("a table of matchers: to_equal, to_be, to_be_truthy, to_contain, to_match, to_be_close_to, to_have_length, "
               "to_throw, to_satisfy_schema, to_have_been_called, to_have_been_called_with (camelCase in JS), and the "
               "same negated under never / not_ (JS: not)")
      .doc("Checks a value: test.expect(x).to_equal(y), test.expect(f).never.to_throw()")
      .sync([](CallContext& cx, Args a) -> Value {
        return boundMatchers(cx, std::make_shared<Expectation>(a[0], false), std::make_shared<Expectation>(a[0], true));
      });
  r.fn("test", "spy")
      .opt("fn", R"({"type":"function"})", "called with the same arguments, its result returned; default returns nil")
      .returns("function: records each call's arguments (test.calls)")
      .doc("A function that records its calls, for test.calls and expect(spy).to_have_been_called")
      .sync([](CallContext&, Args a) -> Value {
        return Value(FunctionPtr(std::make_shared<Spy>(a[0].isFunction() ? a[0].asFunction() : nullptr)));
      });
  r.fn("test", "calls")
      .param("spy", R"({"type":"function"})", "a function made by test.spy")
      .returns("array: one array of arguments per call, oldest first (its length is the call count)")
      .doc("The calls a spy has recorded")
      .sync([](CallContext&, Args a) -> Value { return Value::array(spyOf(a[0], "test.calls").calls); });
  r.fn("test", "mock")
      .param("name", R"({"type":"string"})", "a registry function, e.g. \"llm.chat\" or \"agent:run\"")
      .param("fn", R"({"type":"function"})", "called instead, with the same arguments; its result is the call's")
      .doc("Replaces a built-in function for the current test (or the enclosing describe, in before_all), in every "
           "caller of the spell; put back when the test ends, even when it fails")
      .sync([](CallContext& cx, Args a) -> Value {
        const std::string& name = a[0].asString();
        if (!Registry::global().find(name)) {
          std::vector<std::string> all;
          for (const auto& d : Registry::global().functions()) all.push_back(d.qualifiedName());
          std::string msg = "test.mock: no function named '" + name + "'";
          auto close = closestNames(name, all);
          if (!close.empty()) msg += "; did you mean " + orList(close) + "?";
          fail(codes::kNotFound, msg);
        }
        if (name.rfind("test.", 0) == 0 || name.rfind("expectation:", 0) == 0)
          fail(codes::kInvalidArgument, "test.mock: the test namespace itself cannot be mocked");
        cx.run.service<CallMocks>([] { return std::make_shared<CallMocks>(); }).byName[name] = a[1].asFunction();
        return Value();
      });
  r.fn("test", "mock_llm")
      .param("opts", R"({"type":"object","required":["replies"],"properties":{"replies":{"type":"array"}}})",
             "{replies = {\"text\", {text, tool_calls, reasoning}, ...}}: one per model call, in order")
      .doc("Scripts the model's replies for the current test: llm calls without their own model go to the mock "
           "provider (mock/script), which answers with these replies; put back when the test ends")
      .sync([](CallContext& cx, Args a) -> Value {
        TestState& st = stateOf(cx);
        std::vector<llm::MockReply> replies;
        for (const auto& v : a[0].get("replies").asArray()) replies.push_back(llm::mockReplyFromValue(v));
        LlmService& s = LlmService::of(cx);
        if (!st.llm.active) st.llm = LlmMockSaved{true, s.chosen};
        s.chosen = "mock/script";
        s.client.setMockReplies(std::move(replies));
        return Value();
      });
  r.fn("test", "run")
      .opt("opts", R"({"type":"object","properties":{"filter":{"type":"string"},"test_timeout":{"type":"number","exclusiveMinimum":0}}})",
           "{filter: RE2 pattern matched against \"describe > test\" names, test_timeout: default seconds per test (5)}")
      .returns("{passed, failed, skipped, duration_ms, tests = {{name, full_name, suite, status, duration_ms, error}}}")
      .doc("Runs the tests declared so far, one after another (`llmspell test` calls it after the file's main chunk)")
      .async([](CallContext& cx, Args a) -> PromisePtr {
        TestState& st = stateOf(cx);
        if (st.running) return Promise::rejected(Error(codes::kInvalidArgument, "test.run: the tests are already running"));
        if (!st.report.isNull()) return Promise::resolved(st.report);
        auto runner = std::make_shared<Runner>(cx.run, cx.loop, st, a[0]);
        return runner->start();
      });
}

}  // namespace llmspell

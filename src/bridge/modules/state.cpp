// `state` namespace and `state_scope` objects: the script face of StateStore. Every function is
// declared once in a table and registered twice: `state.f(..., opts{scope})` and
// `state.scope(name):f(...)`.
//
// Store calls run inline on the loop thread: WAL reads/writes with synchronous=NORMAL take
// microseconds (bench/state), cheaper than a thread-pool round trip (see store.hpp). On a
// PostgreSQL or Redis store a call is a round trip to the server (tens to hundreds of
// microseconds on a local socket, bench/scale), still inline.
// Callbacks (update, transform, filter) are script functions that may suspend, so they never
// run inside a transaction: update reads (value, version), awaits the callback, then
// compare-and-sets, retrying on a conflict — atomic across threads and processes.
#include <array>
#include <cstdlib>
#include <cstring>
#include <random>

#include "llmspell/bridge/registry.hpp"
#include "llmspell/core/convert.hpp"
#include "llmspell/events/bus.hpp"
#include "llmspell/hooks/hooks.hpp"
#include "llmspell/state/store.hpp"

namespace llmspell {

namespace {

constexpr int kMaxUpdateAttempts = 100;

// The stores of one run: the persistent one (opened on first use) and the session one (memory,
// gone with the run).
struct StateRun {
  std::shared_ptr<StateStore> persistent;
  std::shared_ptr<StateStore> session;
};

StateRun& stateRun(RunContext& run) {
  return run.service<StateRun>([] { return std::make_shared<StateRun>(); });
}

// A resolved target: which store and which scope string.
struct Target {
  std::shared_ptr<StateStore> store;
  std::string scope;
};

// Where persistent state lives: LLMSPELL_STATE (a postgres:// or redis:// URL, "memory", or a
// file path), else LLMSPELL_STATE_BACKEND (sqlite or memory), else the state.db file of the
// data directory.
std::shared_ptr<StateStore> openPersistent(RunContext& run) {
  StateOptions o;
  const char* where = std::getenv("LLMSPELL_STATE");
  const char* backend = std::getenv("LLMSPELL_STATE_BACKEND");
  if (where && *where) {
    std::string_view w(where);
    if (w == "memory" || w == ":memory:") {
      o.path = ":memory:";
    } else if (size_t scheme = w.find("://"); scheme != std::string_view::npos) {
      std::string_view s = w.substr(0, scheme);
      if (s != "postgres" && s != "postgresql" && s != "redis")
        fail(codes::kConfigError, "LLMSPELL_STATE: '" + std::string(s) +
                                      "://' is not a state backend (postgres://, redis://, \"memory\" or a file path)");
      o.path = where;
    } else {
      o.path = where;
    }
  } else if (backend && std::string_view(backend) == "memory") {
    o.path = ":memory:";
  } else if (backend && *backend && std::string_view(backend) != "sqlite") {
    fail(codes::kInvalidArgument, std::string("LLMSPELL_STATE_BACKEND='") + backend +
                                      "' is not a state backend (sqlite or memory)");
  } else {
    o.path = run.dataDir.empty() ? StateStore::defaultPath() : run.dataDir + "/state.db";
  }
  // How long a write waits for a lock, and a server store retries a lost connection.
  if (const char* ms = std::getenv("LLMSPELL_STATE_TIMEOUT_MS"); ms && *ms) {
    char* end = nullptr;
    long v = std::strtol(ms, &end, 10);
    if (*end || v < 0 || v > 3600000)
      fail(codes::kConfigError,
           std::string("LLMSPELL_STATE_TIMEOUT_MS='") + ms + "' is not a number of milliseconds (0 to 3600000)");
    o.busyTimeoutMs = static_cast<int>(v);
  }
  const char* sync = std::getenv("LLMSPELL_STATE_SYNC");
  if (sync && std::string_view(sync) == "full") o.durability = Durability::kFull;
  o.bus = &busFor(run);
  return std::make_shared<StateStore>(o);
}

// "global", "spell" / nil (this spell), "session", "spell:<n>", "agent:<n>", "workflow:<n>".
std::string canonicalScope(RunContext& run, const Value& v) {
  if (v.isNull()) return "spell:" + run.spellName;
  if (!v.isString())
    fail(codes::kInvalidArgument, "state scope must be a string, got " + v.describe());
  const std::string& s = v.asString();
  if (s == "spell") return "spell:" + run.spellName;
  if (s == "global" || s == "session") return s;
  for (const char* p : {"spell:", "agent:", "workflow:"}) {
    size_t n = std::strlen(p);
    if (s.size() > n && s.compare(0, n, p) == 0) return s;
  }
  fail(codes::kInvalidArgument,
       "unknown state scope '" + s +
           "' (use \"global\", \"spell\", \"session\", \"agent:<name>\" or \"workflow:<name>\")");
}

Target targetFor(RunContext& run, const std::string& scope) {
  auto& sr = stateRun(run);
  if (scope == "session") {
    if (!sr.session) {
      StateOptions o;
      o.bus = &busFor(run);
      sr.session = StateStore::memory(o);
    }
    return {sr.session, scope};
  }
  if (!sr.persistent) sr.persistent = openPersistent(run);
  return {sr.persistent, scope};
}

// A state object bound to one scope (state.scope(name)).
class StateScope : public HostObject {
 public:
  explicit StateScope(std::string scope) : scope_(std::move(scope)) {}
  std::string_view typeName() const override { return "state_scope"; }
  const std::string& scope() const { return scope_; }

 private:
  std::string scope_;
};

const std::string& scopeOf(const Value& self) {
  auto* s = dynamic_cast<StateScope*>(self.asHandle().get());
  if (!s) fail(codes::kInvalidArgument, "expected a state scope object, got " + self.describe());
  return s->scope();
}

std::optional<double> ttlOf(const Value& opts) {
  const Value& t = opts.get("ttl");
  if (t.isNull()) return std::nullopt;
  if (!t.isNumber() || !(t.asNumber() > 0))
    fail(codes::kInvalidArgument,
         "state: ttl must be a positive number of seconds, got " + t.describe());
  return t.asNumber();
}

const std::string& keyArg(const Value& v) {
  validateStateKey(v.asString());
  return v.asString();
}

// Calls a script callback and hands its result (or failure) to `k`.
void callThen(const FunctionPtr& fn, std::vector<Value> args, const PromisePtr& out,
              std::function<void(const Value&)> k) {
  PromisePtr p = fn->call(std::move(args));
  p->onSettle([out, k = std::move(k)](const Promise& q) {
    if (!out->pending()) return;
    if (q.rejected()) {
      out->reject(q.error());
      return;
    }
    try {
      k(q.value());
    } catch (...) {
      out->rejectCurrentException();
    }
  });
}

// Optimistic read-callback-CAS loop. `mustExist`: transform fails with not_found on an absent
// key instead of passing nil.
PromisePtr casUpdate(Loop& loop, Target t, std::string key, FunctionPtr fn, bool mustExist,
                     std::string fname) {
  auto out = Promise::create();
  auto attempt = std::make_shared<std::function<void(int)>>();
  std::weak_ptr<std::function<void(int)>> weak = attempt;
  *attempt = [&loop, t, key, fn, mustExist, fname, out, weak](int n) {
    auto self = weak.lock();
    if (!self || !out->pending()) return;
    Versioned cur;
    try {
      cur = t.store->getVersioned(t.scope, key);
    } catch (...) {
      out->rejectCurrentException();
      return;
    }
    if (mustExist && !cur.value) {
      out->reject(Error(codes::kNotFound, fname + ": no value at '" + key + "'"));
      return;
    }
    callThen(fn, {cur.value ? *cur.value : Value(), Value(key)}, out,
             [&loop, t, key, cur, out, self, n, fname](const Value& next) {
               std::optional<Value> nv;
               if (!next.isNull()) nv = next;
               if (t.store->compareAndSet(t.scope, key, cur.version, nv)) {
                 out->resolve(next);
                 return;
               }
               if (n + 1 >= kMaxUpdateAttempts) {
                 out->reject(Error(codes::kLimitExceeded,
                                   fname + ": '" + key + "' kept changing under " +
                                       std::to_string(kMaxUpdateAttempts) + " attempts; try again",
                                   true));
                 return;
               }
               // Someone else wrote in between: run the callback again on the new value, after
               // a short random pause once contention is evident.
               if (n < 2) {
                 (*self)(n + 1);
                 return;
               }
               static thread_local std::mt19937 rng{std::random_device{}()};
               double pause = std::uniform_real_distribution<double>(0, 0.002 * n)(rng);
               loop.setTimeout(pause, [self, n] { (*self)(n + 1); });
             });
  };
  (*attempt)(0);
  // The attempt function lives until the update settles.
  out->onSettle([attempt](const Promise&) mutable { *attempt = nullptr; });
  return out;
}

Value versionList(const std::vector<VersionInfo>& vs) {
  std::vector<Value> out;
  for (const auto& v : vs)
    out.push_back(Value::object({{"version", v.version},
                                 {"value", v.value ? *v.value : Value()},
                                 {"deleted", !v.value.has_value()},
                                 {"ts", v.ts}}));
  return Value::array(std::move(out));
}

// One function of the state API, registered as state.NAME and state_scope:NAME. `a` holds the
// declared params (without self) followed by opts.
struct Spec {
  const char* name;
  std::vector<std::array<const char*, 3>> params;  // {name, schema, "req"|"opt"}
  const char* returns;
  const char* doc;
  std::function<Value(CallContext&, const Target&, Args)> sync;
  std::function<PromisePtr(CallContext&, const Target&, Args)> async;
};

void registerSpec(Registry& r, const Spec& s) {
  auto build = [&](FnBuilder b, bool method) {
    if (method) b.param("self", R"({"type":"handle"})");
    for (const auto& p : s.params) {
      if (std::string_view(p[2]) == "req")
        b.param(p[0], p[1]);
      else
        b.opt(p[0], p[1]);
    }
    b.opt(
        "opts",
        method
            ? R"({"type":"object","properties":{"ttl":{"type":"number"}}})"
            : R"({"type":"object","properties":{"scope":{"type":"string"},"ttl":{"type":"number"}}})",
        method ? "ttl where it applies" : "scope (default: this spell) and ttl where it applies");
    b.returns(s.returns).doc(s.doc);
    auto resolve = [method](CallContext& cx, Args a) -> std::pair<Target, Args> {
      if (method) {
        Args rest = a.subspan(1);
        return {targetFor(cx.run, scopeOf(a[0])), rest};
      }
      return {targetFor(cx.run, canonicalScope(cx.run, a.back().get("scope"))), a};
    };
    if (s.sync) {
      auto f = s.sync;
      b.sync([f, resolve](CallContext& cx, Args a) -> Value {
        auto [t, rest] = resolve(cx, a);
        return f(cx, t, rest);
      });
    } else {
      auto f = s.async;
      b.async([f, resolve](CallContext& cx, Args a) -> PromisePtr {
        auto [t, rest] = resolve(cx, a);
        return f(cx, t, rest);
      });
    }
  };
  build(r.fn("state", s.name), false);
  build(r.method("state_scope", s.name), true);
}

}  // namespace

void llmspell_register_state(Registry& r) {
  r.type("state_scope",
         "State bound to one scope, from state.scope(name): the state functions "
         "as methods, without the scope option");
  const std::vector<Spec> specs = {
      {"get",
       {{"key", R"({"type":"string"})", "req"}, {"default", R"({})", "opt"}},
       "the value, or `default` (nil) when absent or expired",
       "Reads a key",
       [](CallContext&, const Target& t, Args a) -> Value {
         auto v = t.store->get(t.scope, keyArg(a[0]));
         return v ? *v : a[1];
       }},
      {"set",
       {{"key", R"({"type":"string"})", "req"},
        // Not nil: a stored null would read back as nil, not as the get's default (state.delete).
        {"value", R"({"type":["string","number","boolean","object","array","bytes"]})", "req"}},
       "the key's new version number",
       "Writes a value (JSON-compatible); opts.ttl in seconds makes it expire. Runs the "
       "`state.set` hooks",
       nullptr,
       [](CallContext& cx, const Target& t, Args a) -> PromisePtr {
         Value args = Value::object({{"key", keyArg(a[0])},
                                     {"value", a[1]},
                                     {"scope", t.scope},
                                     {"ttl", a.back().get("ttl")}});
         RunContext* run = &cx.run;
         return runHooked(cx.run, hook_points::kStateSet, args, [run, t](Value h) -> PromisePtr {
           if (!h.get("key").isString())
             fail(codes::kInvalidArgument, "state.set: a hook left no string 'key' in args");
           // A hook may redirect to another scope.
           Target tt = t;
           if (h.get("scope").isString() && h.get("scope").asString() != t.scope)
             tt = targetFor(*run, canonicalScope(*run, h.get("scope")));
           int64_t v = tt.store->set(tt.scope, keyArg(h.get("key")), h.get("value"), ttlOf(h));
           return Promise::resolved(Value(v));
         });
       }},
      {"delete",
       {{"key", R"({"type":"string"})", "req"}},
       "true when a live key was deleted",
       "Deletes a key",
       [](CallContext&, const Target& t, Args a) -> Value {
         return Value(t.store->del(t.scope, keyArg(a[0])));
       }},
      {"keys",
       {{"prefix", R"({"type":"string","default":""})", "opt"}},
       "sorted list of live keys",
       "Lists the keys starting with prefix",
       [](CallContext&, const Target& t, Args a) -> Value {
         std::vector<Value> out;
         for (auto& k : t.store->keys(t.scope, a[0].isString() ? a[0].asString() : ""))
           out.emplace_back(std::move(k));
         return Value::array(std::move(out));
       }},
      {"update",
       {{"key", R"({"type":"string"})", "req"}, {"fn", R"({"type":"function"})", "req"}},
       "the value written (nil when fn returned nil, which deletes the key)",
       "Atomic read-modify-write: fn(current, key) returns the new value; re-run on a "
       "concurrent change (atomic across processes)",
       nullptr,
       [](CallContext& cx, const Target& t, Args a) -> PromisePtr {
         return casUpdate(cx.loop, t, keyArg(a[0]), a[1].asFunction(), false, "state.update");
       }},
      {"transform",
       {{"key", R"({"type":"string"})", "req"}, {"fn", R"({"type":"function"})", "req"}},
       "the transformed value",
       "Like update for an existing key: fn(value, key) returns its replacement; not_found when "
       "the key is absent",
       nullptr,
       [](CallContext& cx, const Target& t, Args a) -> PromisePtr {
         return casUpdate(cx.loop, t, keyArg(a[0]), a[1].asFunction(), true, "state.transform");
       }},
      {"merge",
       {{"key", R"({"type":"string"})", "req"}, {"value", R"({"type":"object"})", "req"}},
       "the merged object",
       "Deep-merges an object into the object at key (atomic)",
       [](CallContext&, const Target& t, Args a) -> Value {
         return t.store->merge(t.scope, keyArg(a[0]), a[1]);
       }},
      {"expire",
       {{"key", R"({"type":"string"})", "req"}, {"seconds", R"({"type":"number"})", "req"}},
       "true when the key exists",
       "Makes a key expire after `seconds`",
       [](CallContext&, const Target& t, Args a) -> Value {
         return Value(t.store->expire(t.scope, keyArg(a[0]), a[1].asNumber()));
       }},
      {"versions",
       {{"key", R"({"type":"string"})", "req"}},
       "list of {version, value, deleted, ts}, newest first",
       "The kept versions of a key (the last 10 writes)",
       [](CallContext&, const Target& t, Args a) -> Value {
         return versionList(t.store->versions(t.scope, keyArg(a[0])));
       }},
      {"get_version",
       {{"key", R"({"type":"string"})", "req"}, {"n", R"({"type":"integer","minimum":1})", "req"}},
       "the value at version n, or nil when not kept",
       "Reads one past version of a key",
       [](CallContext&, const Target& t, Args a) -> Value {
         auto v = t.store->getVersion(t.scope, keyArg(a[0]), a[1].asInt());
         return v ? *v : Value();
       }},
      {"snapshot",
       {{"name", R"({"type":"string","minLength":1})", "req"}},
       "the number of keys saved",
       "Saves the whole scope under a name",
       [](CallContext&, const Target& t, Args a) -> Value {
         return Value(t.store->snapshot(t.scope, a[0].asString()));
       }},
      {"restore",
       {{"name", R"({"type":"string","minLength":1})", "req"}},
       "the number of keys restored",
       "Replaces the scope's keys with a snapshot's (not_found for an unknown name)",
       [](CallContext&, const Target& t, Args a) -> Value {
         return Value(t.store->restore(t.scope, a[0].asString()));
       }},
      {"snapshots",
       {},
       "list of {name, ts, keys}",
       "The scope's snapshots, oldest first",
       [](CallContext&, const Target& t, Args) -> Value {
         std::vector<Value> out;
         for (const auto& s : t.store->snapshots(t.scope))
           out.push_back(Value::object({{"name", s.name}, {"ts", s.ts}, {"keys", s.keys}}));
         return Value::array(std::move(out));
       }},
      {"filter",
       {{"prefix", R"({"type":"string"})", "req"}, {"pred", R"({"type":"function"})", "req"}},
       "object {key = value} of the entries pred accepted",
       "The entries under prefix for which pred(value, key) is truthy",
       nullptr,
       [](CallContext&, const Target& t, Args a) -> PromisePtr {
         auto entries = std::make_shared<std::vector<std::pair<std::string, Value>>>(
             t.store->entries(t.scope, a[0].asString()));
         FunctionPtr pred = a[1].asFunction();
         auto out = Promise::create();
         auto result = std::make_shared<Value>(Value::object());
         // Sequential: predicates run one at a time, in key order.
         auto step = std::make_shared<std::function<void(size_t)>>();
         std::weak_ptr<std::function<void(size_t)>> weak = step;
         *step = [entries, pred, out, result, weak](size_t i) {
           auto self = weak.lock();
           if (!self) return;
           if (i == entries->size()) {
             out->resolve(*result);
             return;
           }
           // Copies, not a structured binding: clang 14 (the fuzz preset) cannot capture one.
           std::string k = (*entries)[i].first;
           Value v = (*entries)[i].second;
           callThen(pred, {v, Value(k)}, out, [result, self, i, k, v](const Value& keep) {
             if (keep.truthy()) result->asObject().set(k, v);
             (*self)(i + 1);
           });
         };
         (*step)(0);
         out->onSettle([step](const Promise&) mutable { *step = nullptr; });
         return out;
       }},
      {"validate",
       {{"key", R"({"type":"string"})", "req"},
        {"schema", R"({"type":["object","boolean"]})", "req"}},
       "{ok = boolean, errors = {\"path: message\"...}}",
       "Checks the stored value (nil when absent) against a JSON Schema",
       [](CallContext&, const Target& t, Args a) -> Value {
         auto v = t.store->get(t.scope, keyArg(a[0]));
         auto errs = validateSchema(v ? *v : Value(), a[1], "$");
         std::vector<Value> list;
         for (auto& e : errs) list.emplace_back(std::move(e));
         return Value::object({{"ok", errs.empty()}, {"errors", Value::array(std::move(list))}});
       }},
  };
  for (const auto& s : specs) registerSpec(r, s);

  r.fn("state", "scope")
      .param("name", R"({"type":"string"})",
             "\"global\", \"spell\", \"session\", \"agent:<name>\", \"workflow:<name>\"")
      .returns("state_scope")
      .doc("A state object bound to one scope: state.scope(\"global\"):get(\"k\")")
      .sync([](CallContext& cx, Args a) -> Value {
        return Value(HostObjectPtr(std::make_shared<StateScope>(canonicalScope(cx.run, a[0]))));
      });
  r.method("state_scope", "name")
      .param("self", R"({"type":"handle"})")
      .returns("the scope string, e.g. \"spell:demo\"")
      .doc("The scope this object is bound to")
      .sync([](CallContext&, Args a) -> Value { return Value(scopeOf(a[0])); });
}

}  // namespace llmspell

// Hook registry and the before -> around(inner) -> after chain, driven by promise callbacks so
// async handlers (script functions) suspend nothing but the chain itself.
#include "llmspell/hooks/hooks.hpp"

#include <algorithm>
#include <atomic>

#include "llmspell/core/error.hpp"

namespace llmspell {

std::string_view hookKindName(HookKind k) {
  switch (k) {
    case HookKind::kBefore: return "before";
    case HookKind::kAfter: return "after";
    case HookKind::kAround: return "around";
  }
  return "?";
}

namespace {

std::atomic<uint64_t> gNextHookId{1};

std::mutex& pointsMu() {
  static std::mutex m;
  return m;
}
std::vector<std::string>& pointList() {
  static std::vector<std::string> v = {
      std::string(hook_points::kLlmCall), std::string(hook_points::kToolCall),
      std::string(hook_points::kAgentRun), std::string(hook_points::kWorkflowStep),
      std::string(hook_points::kStateSet)};
  return v;
}

// Calls a handler, turning throws and null promises into promises.
PromisePtr callHook(const HookFn& fn, const Value& ctx, const HookNext& next) {
  try {
    PromisePtr p = fn(ctx, next);
    return p ? p : Promise::resolved(Value());
  } catch (...) {
    auto p = Promise::create();
    p->rejectCurrentException();
    return p;
  }
}

PromisePtr invokeInner(const HookInner& inner, Value args) {
  try {
    PromisePtr p = inner(std::move(args));
    return p ? p : Promise::resolved(Value());
  } catch (...) {
    auto p = Promise::create();
    p->rejectCurrentException();
    return p;
  }
}

std::string reasonText(const Value& r) {
  if (r.isString()) return r.asString();
  if (r.isBool() && r.asBool()) return "cancelled by a hook";
  return r.describe();
}

}  // namespace

HookRegistry& HookRegistry::global() {
  static HookRegistry* g = new HookRegistry(nullptr);  // leaked: used during static shutdown
  return *g;
}

std::vector<std::string> HookRegistry::points() {
  std::lock_guard lk(pointsMu());
  return pointList();
}

void HookRegistry::declarePoint(std::string_view name) {
  if (name.empty()) fail(codes::kInvalidArgument, "hook point name is empty");
  std::lock_guard lk(pointsMu());
  auto& v = pointList();
  if (std::find(v.begin(), v.end(), name) == v.end()) v.emplace_back(name);
}

bool HookRegistry::knownPoint(std::string_view name) {
  std::lock_guard lk(pointsMu());
  auto& v = pointList();
  return std::find(v.begin(), v.end(), name) != v.end();
}

uint64_t HookRegistry::add(std::string_view point, HookKind kind, HookFn fn, int priority,
                           std::string name) {
  if (!knownPoint(point)) {
    std::string known;
    for (const auto& p : points()) known += (known.empty() ? "" : ", ") + p;
    fail(codes::kInvalidArgument,
         "unknown hook point '" + std::string(point) + "' (known points: " + known + ")");
  }
  if (!fn) fail(codes::kInvalidArgument, "hook needs a handler function");
  Entry e;
  e.info.id = gNextHookId.fetch_add(1);
  e.info.point = std::string(point);
  e.info.kind = kind;
  e.info.priority = priority;
  e.info.name = std::move(name);
  e.seq = e.info.id;
  e.fn = std::make_shared<HookFn>(std::move(fn));
  std::lock_guard lk(mu_);
  entries_.push_back(std::move(e));
  return entries_.back().info.id;
}

bool HookRegistry::remove(uint64_t id) {
  std::lock_guard lk(mu_);
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const Entry& e) { return e.info.id == id; });
  if (it == entries_.end()) return false;
  entries_.erase(it);
  return true;
}

std::vector<HookInfo> HookRegistry::list() const {
  std::vector<Entry> es;
  {
    std::lock_guard lk(mu_);
    es = entries_;
  }
  std::stable_sort(es.begin(), es.end(), [](const Entry& a, const Entry& b) {
    if (a.info.point != b.info.point) return a.info.point < b.info.point;
    if (a.info.priority != b.info.priority) return a.info.priority > b.info.priority;
    return a.seq < b.seq;
  });
  std::vector<HookInfo> out;
  for (auto& e : es) out.push_back(e.info);
  return out;
}

bool HookRegistry::has(std::string_view point) const {
  {
    std::lock_guard lk(mu_);
    for (const auto& e : entries_)
      if (e.info.point == point) return true;
  }
  return parent_ && parent_->has(point);
}

void HookRegistry::collect(std::string_view point, std::vector<Entry>& out) const {
  {
    std::lock_guard lk(mu_);
    for (const auto& e : entries_)
      if (e.info.point == point) out.push_back(e);
  }
  if (parent_) parent_->collect(point, out);
}

namespace {

// One run of a chain. Lives until the outcome promise settles.
struct Chain : std::enable_shared_from_this<Chain> {
  std::string point;
  std::vector<std::shared_ptr<HookFn>> before, around, after;
  HookInner inner;
  PromisePtr out;
  PromisePtr current;  // the step in flight, for cancellation
  Value args;
  Value result;

  Value ctx(const Value& a) const { return Value::object({{"point", point}, {"args", a}}); }

  // Tracks the step in flight and continues with `k` when it settles (fails the chain on a
  // rejection).
  void await(const PromisePtr& p, std::function<void(const Value&)> k) {
    current = p;
    auto self = shared_from_this();
    p->onSettle([self, k = std::move(k)](const Promise& q) {
      if (!self->out->pending()) return;
      if (q.rejected()) {
        self->out->reject(q.error());
        return;
      }
      k(q.value());
    });
  }

  void runBefore(size_t i) {
    if (!out->pending()) return;
    if (i == before.size()) {
      runAround();
      return;
    }
    auto self = shared_from_this();
    await(callHook(*before[i], ctx(args), nullptr), [self, i](const Value& d) {
      if (d.isObject()) {
        if (const Value* c = d.asObject().find("cancel"); c && c->truthy()) {
          Error e(codes::kCancelled, reasonText(*c));
          e.details = Value::object({{"point", self->point}, {"reason", *c}});
          self->out->reject(std::move(e));
          return;
        }
        if (const Value* a = d.asObject().find("args")) self->args = *a;
      }
      self->runBefore(i + 1);
    });
  }

  // Layer k of the around chain: hook k wraps layer k+1; the last layer is `inner`.
  PromisePtr layer(size_t k, Value a) {
    if (k == around.size()) return invokeInner(inner, std::move(a));
    std::weak_ptr<Chain> w = weak_from_this();
    HookNext next = [w, k, a](Value na) -> PromisePtr {
      auto self = w.lock();
      if (!self) return Promise::rejected(Error(codes::kCancelled, "hook chain is gone"));
      return self->layer(k + 1, na.isNull() ? a : std::move(na));
    };
    return callHook(*around[k], ctx(a), next);
  }

  void runAround() {
    auto self = shared_from_this();
    await(layer(0, args), [self](const Value& r) {
      self->result = r;
      self->runAfter(0);
    });
  }

  void runAfter(size_t i) {
    if (!out->pending()) return;
    if (i == after.size()) {
      out->resolve(result);
      return;
    }
    Value c = ctx(args);
    c.asObject().set("result", result);
    auto self = shared_from_this();
    await(callHook(*after[i], c, nullptr), [self, i](const Value& d) {
      if (d.isObject())
        if (const Value* r = d.asObject().find("result")) self->result = *r;
      self->runAfter(i + 1);
    });
  }
};

}  // namespace

PromisePtr HookRegistry::run(std::string_view point, Value args, HookInner inner) const {
  std::vector<Entry> es;
  try {
    collect(point, es);
  } catch (...) {
    auto p = Promise::create();
    p->rejectCurrentException();
    return p;
  }
  if (es.empty()) return invokeInner(inner, std::move(args));  // the fast path
  std::stable_sort(es.begin(), es.end(), [](const Entry& a, const Entry& b) {
    if (a.info.priority != b.info.priority) return a.info.priority > b.info.priority;
    return a.seq < b.seq;
  });
  auto c = std::make_shared<Chain>();
  c->point = std::string(point);
  c->inner = std::move(inner);
  c->args = std::move(args);
  for (auto& e : es) {
    switch (e.info.kind) {
      case HookKind::kBefore: c->before.push_back(e.fn); break;
      case HookKind::kAround: c->around.push_back(e.fn); break;
      case HookKind::kAfter: c->after.push_back(e.fn); break;
    }
  }
  c->out = Promise::create();
  PromisePtr out = c->out;
  // The outcome promise holds the chain until it settles. When it settles while a step is
  // still pending, someone cancelled it (Promise::cancel rejects first, then runs the
  // canceller): pass the cancellation on to the step in flight.
  out->onSettle([c](const Promise& o) {
    PromisePtr cur = std::move(c->current);
    if (cur && cur->pending())
      cur->cancel(o.rejected() ? o.error() : Error(codes::kCancelled, "cancelled"));
  });
  c->runBefore(0);
  return out;
}

PromisePtr runHooked(std::string_view point, Value args, HookInner inner) {
  return HookRegistry::global().run(point, std::move(args), std::move(inner));
}

}  // namespace llmspell

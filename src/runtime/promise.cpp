// Promise settlement and the host-side combinators.
#include "llmspell/runtime/promise.hpp"

namespace llmspell {

PromisePtr Promise::resolved(Value v) {
  auto p = create();
  p->resolve(std::move(v));
  return p;
}

PromisePtr Promise::fulfilledWith(Value v) {
  auto p = create();
  p->value_ = std::move(v);
  p->state_ = State::kFulfilled;
  return p;
}

PromisePtr Promise::rejected(Error e) {
  auto p = create();
  p->reject(std::move(e));
  return p;
}

void Promise::resolve(Value v) {
  if (state_ != State::kPending) return;
  // Resolving with a promise adopts its outcome.
  if (v.isPromise() && v.asPromise().get() != this) {
    auto self = shared_from_this();
    auto inner = v.asPromise();
    inner->markHandled();
    inner->onSettle([self](const Promise& q) {
      if (q.fulfilled()) self->resolve(q.value()); else self->reject(q.error());
    });
    return;
  }
  value_ = std::move(v);
  state_ = State::kFulfilled;
  settle();
}

void Promise::reject(Error e) {
  if (state_ != State::kPending) return;
  error_ = std::make_shared<Error>(std::move(e));
  state_ = State::kRejected;
  settle();
}

void Promise::rejectCurrentException() {
  try {
    throw;
  } catch (const Exception& e) {
    reject(e.error());
  } catch (const std::exception& e) {
    reject(Error(codes::kInternal, e.what()));
  } catch (...) {
    reject(Error(codes::kInternal, "unknown failure"));
  }
}

void Promise::settle() {
  // A callback may drop the last outside reference to this promise (a run that clears its
  // in-flight list); keep it alive until every callback has run.
  auto keep = weak_from_this().lock();
  canceller_ = nullptr;
  auto cbs = std::move(callbacks_);
  callbacks_.clear();
  for (auto& cb : cbs) cb(*this);
}

void Promise::onSettle(Callback cb) {
  if (state_ != State::kPending) {
    if (state_ == State::kRejected) handled_ = true;
    cb(*this);
    return;
  }
  handled_ = true;
  callbacks_.push_back(std::move(cb));
}

void Promise::cancel(Error reason) {
  if (state_ != State::kPending) return;
  auto c = std::move(canceller_);
  canceller_ = nullptr;
  reject(std::move(reason));
  if (c) c();
}

namespace {
struct Gather {
  std::vector<Value> results;
  size_t remaining = 0;
  PromisePtr out;
  std::vector<PromisePtr> inputs;
};
}  // namespace

PromisePtr promiseAll(const std::vector<PromisePtr>& ps) {
  auto g = std::make_shared<Gather>();
  g->out = Promise::create();
  g->results.resize(ps.size());
  g->remaining = ps.size();
  g->inputs = ps;
  if (ps.empty()) g->out->resolve(Value::array());
  auto out = g->out;
  out->setCanceller([w = std::weak_ptr<Gather>(g)] {
    if (auto g2 = w.lock())
      for (auto& p : g2->inputs) p->cancel();
  });
  for (size_t i = 0; i < ps.size(); ++i) {
    ps[i]->onSettle([g, i](const Promise& p) {
      if (!g->out->pending()) return;
      if (p.rejected()) {
        g->out->reject(p.error());
        for (auto& q : g->inputs) q->cancel();
        return;
      }
      g->results[i] = p.value();
      if (--g->remaining == 0) g->out->resolve(Value::array(std::move(g->results)));
    });
  }
  return out;
}

PromisePtr promiseAllSettled(const std::vector<PromisePtr>& ps) {
  auto g = std::make_shared<Gather>();
  g->out = Promise::create();
  g->results.resize(ps.size());
  g->remaining = ps.size();
  if (ps.empty()) g->out->resolve(Value::array());
  for (size_t i = 0; i < ps.size(); ++i) {
    ps[i]->onSettle([g, i](const Promise& p) {
      if (p.fulfilled())
        g->results[i] = Value::object({{"status", "fulfilled"}, {"value", p.value()}});
      else
        g->results[i] = Value::object({{"status", "rejected"}, {"error", Value(p.errorPtr())}});
      if (--g->remaining == 0) g->out->resolve(Value::array(std::move(g->results)));
    });
  }
  return g->out;
}

PromisePtr promiseRace(const std::vector<PromisePtr>& ps) {
  auto out = Promise::create();
  auto inputs = std::make_shared<std::vector<PromisePtr>>(ps);
  for (const auto& p : ps) {
    p->onSettle([out, inputs](const Promise& q) {
      if (!out->pending()) return;
      if (q.fulfilled()) out->resolve(q.value()); else out->reject(q.error());
      for (auto& r : *inputs) r->cancel();
    });
  }
  return out;
}

PromisePtr promiseAny(const std::vector<PromisePtr>& ps) {
  auto g = std::make_shared<Gather>();
  g->out = Promise::create();
  g->remaining = ps.size();
  g->inputs = ps;
  g->results.resize(ps.size());
  if (ps.empty()) g->out->reject(Error(codes::kInvalidArgument, "promise.any of an empty list"));
  for (size_t i = 0; i < ps.size(); ++i) {
    ps[i]->onSettle([g, i](const Promise& p) {
      if (!g->out->pending()) return;
      if (p.fulfilled()) {
        g->out->resolve(p.value());
        for (auto& q : g->inputs) q->cancel();
        return;
      }
      g->results[i] = Value(p.errorPtr());
      if (--g->remaining == 0) {
        Error e(p.error().code, "all promises were rejected; last: " + p.error().message);
        e.details = Value::object({{"errors", Value::array(std::move(g->results))}});
        g->out->reject(std::move(e));
      }
    });
  }
  return g->out;
}

PromisePtr promiseThen(const PromisePtr& p, std::function<Value(const Value&)> f) {
  auto out = Promise::create();
  out->setCanceller([w = std::weak_ptr<Promise>(p)] {
    if (auto q = w.lock()) q->cancel();
  });
  p->onSettle([out, f = std::move(f)](const Promise& q) {
    if (!out->pending()) return;
    if (q.rejected()) return out->reject(q.error());
    try {
      out->resolve(f(q.value()));
    } catch (...) {
      out->rejectCurrentException();
    }
  });
  return out;
}

}  // namespace llmspell

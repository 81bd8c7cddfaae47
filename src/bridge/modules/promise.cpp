// `promise` namespace and the async globals: await, async, spawn, sleep, channel, recv_any.
// Everything is host-side over runtime Promises, so every engine gets the same semantics.
#include <deque>

#include "llmspell/runtime/spawned_tasks.hpp"
#include "llmspell/bridge/registry.hpp"

namespace llmspell {

namespace {

std::vector<PromisePtr> promiseList(const Value& list, std::string_view fname) {
  std::vector<PromisePtr> out;
  if (list.isObject() && list.asObject().empty()) return out;
  for (const auto& v : list.asArray()) {
    if (v.isPromise()) out.push_back(v.asPromise());
    else out.push_back(Promise::resolved(v));  // plain values count as already fulfilled
  }
  (void)fname;
  return out;
}

// Runs `fn(arg)` and adopts its outcome into `out`.
void chain(const FunctionPtr& fn, std::vector<Value> args, const PromisePtr& out) {
  auto r = fn->call(std::move(args));
  r->onSettle([out](const Promise& q) {
    if (q.fulfilled()) out->resolve(q.value()); else out->reject(q.error());
  });
}

// A bounded multi-producer multi-consumer channel (Go-like) on the loop thread.
class Channel : public HostObject {
 public:
  explicit Channel(size_t cap) : cap_(cap) {}
  std::string_view typeName() const override { return "channel"; }

  PromisePtr send(Value v) {
    if (closed_) return Promise::rejected(Error(codes::kInvalidArgument, "send on a closed channel"));
    // Hand straight to a waiting receiver.
    while (!receivers_.empty()) {
      auto r = receivers_.front();
      receivers_.pop_front();
      if (r->pending()) {
        r->resolve(std::move(v));
        return Promise::resolved(Value(true));
      }
    }
    if (items_.size() < cap_) {
      items_.push_back(std::move(v));
      return Promise::resolved(Value(true));
    }
    auto p = Promise::create();
    senders_.emplace_back(p, std::move(v));
    return p;
  }

  PromisePtr recv() {
    Value v;
    if (tryRecv(v)) return Promise::resolved(std::move(v));
    if (closed_) return Promise::resolved(Value());
    auto p = Promise::create();
    receivers_.push_back(p);
    return p;
  }

  bool tryRecv(Value& out) {
    if (!items_.empty()) {
      out = std::move(items_.front());
      items_.pop_front();
      admitSender();
      return true;
    }
    // Unbuffered hand-off from a blocked sender.
    while (!senders_.empty()) {
      auto [p, v] = std::move(senders_.front());
      senders_.pop_front();
      if (p->pending()) {
        out = std::move(v);
        p->resolve(Value(true));
        return true;
      }
    }
    return false;
  }

  void close() {
    closed_ = true;
    for (auto& r : receivers_) r->resolve(Value());
    receivers_.clear();
    for (auto& [p, v] : senders_) p->reject(Error(codes::kInvalidArgument, "channel closed while sending"));
    senders_.clear();
  }
  bool closed() const { return closed_; }
  size_t size() const { return items_.size(); }
  bool ready() const { return !items_.empty() || !senders_.empty() || closed_; }

  // Notifies `fn` once when the channel has something to receive (or closes).
  void onReady(std::function<void()> fn) { watchers_.push_back(std::move(fn)); }
  void notify() {
    auto w = std::move(watchers_);
    watchers_.clear();
    for (auto& f : w) f();
  }

 private:
  void admitSender() {
    while (!senders_.empty() && items_.size() < cap_) {
      auto [p, v] = std::move(senders_.front());
      senders_.pop_front();
      if (!p->pending()) continue;
      items_.push_back(std::move(v));
      p->resolve(Value(true));
    }
  }
  size_t cap_;
  bool closed_ = false;
  std::deque<Value> items_;
  std::deque<PromisePtr> receivers_;
  std::deque<std::pair<PromisePtr, Value>> senders_;
  std::vector<std::function<void()>> watchers_;
};

Channel& channelOf(const Value& v) {
  auto* c = dynamic_cast<Channel*>(v.asHandle().get());
  if (!c) fail(codes::kInvalidArgument, "expected a channel");
  return *c;
}

}  // namespace

void llmspell_register_promise(Registry& r) {
  r.type("promise", "The eventual result of an async operation");
  r.type("channel", "A queue between coroutines: send, recv, try_recv, close");

  r.fn("promise", "new")
      .param("executor", R"({"type":"function"})", "fn(resolve, reject), called at once")
      .returns("promise")
      .doc("A promise settled by the executor's resolve or reject")
      .sync([](CallContext&, Args a) -> Value {
        auto p = Promise::create();
        auto resolve = std::make_shared<HostFunction>(
            [p](std::vector<Value> args) {
              p->resolve(args.empty() ? Value() : args[0]);
              return Promise::resolved(Value());
            },
            "resolve");
        auto reject = std::make_shared<HostFunction>(
            [p](std::vector<Value> args) {
              p->reject(Error::fromValue(args.empty() ? Value("rejected") : args[0]));
              return Promise::resolved(Value());
            },
            "reject");
        auto run = a[0].asFunction()->call({Value(FunctionPtr(resolve)), Value(FunctionPtr(reject))});
        run->onSettle([p](const Promise& q) {
          if (q.rejected()) p->reject(q.error());
        });
        return Value(p);
      });
  r.fn("promise", "resolve").opt("value", R"({})").returns("promise")
      .doc("A promise fulfilled with value")
      .sync([](CallContext&, Args a) -> Value { return Value(Promise::resolved(a[0])); });
  r.fn("promise", "reject").param("error", R"({})").returns("promise")
      .doc("A promise rejected with error (an error object or a message)")
      .sync([](CallContext&, Args a) -> Value {
        auto p = Promise::rejected(Error::fromValue(a[0]));
        return Value(p);
      });
  auto combinator = [&](const char* name, const char* doc,
                        PromisePtr (*f)(const std::vector<PromisePtr>&)) {
    r.fn("promise", name).param("promises", R"({"type":"array"})").opt("opts", R"({"type":"object"})")
        .returns("promise").doc(doc)
        .async([f, name](CallContext&, Args a) { return f(promiseList(a[0], name)); });
  };
  combinator("all", "Fulfils with every value in order; rejects with the first rejection", promiseAll);
  combinator("all_settled", "Fulfils with {status, value|error} for each", promiseAllSettled);
  combinator("race", "Settles like the first promise to settle", promiseRace);
  combinator("any", "Fulfils with the first fulfilment; rejects when all reject", promiseAny);

  r.method("promise", "next")
      .param("self", R"({"type":"promise"})")
      .opt("on_fulfilled", R"({"type":"function"})")
      .opt("on_rejected", R"({"type":"function"})")
      .returns("promise").doc("Chains a callback on fulfilment (and optionally rejection)")
      .sync([](CallContext&, Args a) -> Value {
        auto src = a[0].asPromise();
        auto out = Promise::create();
        FunctionPtr onOk = a[1].isFunction() ? a[1].asFunction() : nullptr;
        FunctionPtr onErr = a[2].isFunction() ? a[2].asFunction() : nullptr;
        src->onSettle([out, onOk, onErr](const Promise& q) {
          if (q.fulfilled()) {
            if (onOk) chain(onOk, {q.value()}, out); else out->resolve(q.value());
          } else {
            if (onErr) chain(onErr, {Value(q.errorPtr())}, out); else out->reject(q.error());
          }
        });
        return Value(out);
      });
  r.method("promise", "catch")
      .param("self", R"({"type":"promise"})")
      .param("on_rejected", R"({"type":"function"})")
      .returns("promise").doc("Handles a rejection; the result fulfils with the handler's value")
      .sync([](CallContext&, Args a) -> Value {
        auto out = Promise::create();
        FunctionPtr onErr = a[1].asFunction();
        a[0].asPromise()->onSettle([out, onErr](const Promise& q) {
          if (q.fulfilled()) out->resolve(q.value());
          else chain(onErr, {Value(q.errorPtr())}, out);
        });
        return Value(out);
      });
  r.method("promise", "finally")
      .param("self", R"({"type":"promise"})")
      .param("on_finally", R"({"type":"function"})")
      .returns("promise").doc("Runs a callback when settled, keeping the outcome")
      .sync([](CallContext&, Args a) -> Value {
        auto out = Promise::create();
        FunctionPtr fn = a[1].asFunction();
        a[0].asPromise()->onSettle([out, fn](const Promise& q) {
          Value v = q.fulfilled() ? q.value() : Value();
          ErrorPtr e = q.rejected() ? q.errorPtr() : nullptr;
          fn->call({})->onSettle([out, v, e](const Promise& f) {
            if (f.rejected()) out->reject(f.error());
            else if (e) out->reject(*e);
            else out->resolve(v);
          });
        });
        return Value(out);
      });
  r.method("promise", "status")
      .param("self", R"({"type":"promise"})")
      .returns("\"pending\" | \"fulfilled\" | \"rejected\"").doc("The promise's state now")
      .sync([](CallContext&, Args a) -> Value {
        auto& p = *a[0].asPromise();
        return Value(p.pending() ? "pending" : p.fulfilled() ? "fulfilled" : "rejected");
      });

  r.fn("", "await")
      .param("promise", R"({})", "a promise (other values are returned as they are)")
      .opt("timeout", R"({"type":"number","minimum":0})", "seconds; timeout error when exceeded")
      .returns("the promise's value").doc("Waits for a promise; raises its error on rejection")
      .async([](CallContext& cx, Args a) -> PromisePtr {
        if (!a[0].isPromise()) return Promise::resolved(a[0]);
        auto p = a[0].asPromise();
        p->markHandled();
        if (!p->pending()) return p;
        // The waiter gets its own promise: cancelling a wait (a cancelled workflow step, a
        // timeout) ends the wait, not the operation others may be waiting on too.
        auto out = Promise::create();
        Loop::TimerHandle timer;
        if (a[1].isNumber()) {
          double secs = a[1].asNumber();
          timer = cx.loop.setTimeout(secs, [out, secs] {
            out->reject(Error(codes::kTimeout, "await timed out after " + fmtSeconds(secs), true));
          });
        }
        p->onSettle([out, timer](const Promise& q) mutable {
          timer.cancel();
          if (q.fulfilled()) out->resolve(q.value()); else out->reject(q.error());
        });
        return out;
      });
  r.fn("", "async")
      .param("fn", R"({"type":"function"})")
      .returns("function").doc("Wraps fn so that calling it starts it concurrently and returns a promise")
      .sync([](CallContext&, Args a) -> Value {
        FunctionPtr fn = a[0].asFunction();
        auto wrapped = std::make_shared<HostFunction>(
            [fn](std::vector<Value> args) {
              // The call's result is the promise itself, available at once.
              return Promise::fulfilledWith(Value(fn->call(std::move(args))));
            },
            "async function");
        return Value(FunctionPtr(wrapped));
      });
  r.fn("", "spawn")
      .param("fn", R"({"type":"function"})")
      .variadic()
      .returns("promise").doc("Runs fn(...) concurrently; returns a promise of its result (a failure nothing waits for is reported when the spell ends)")
      .sync([](CallContext& cx, Args a) -> Value {
        std::vector<Value> rest(a.begin() + 1, a.end());
        PromisePtr task = a[0].asFunction()->call(std::move(rest));
        cx.run.service<SpawnedTasks>([] { return std::make_shared<SpawnedTasks>(); }).add(task);
        return Value(task);
      });
  r.fn("", "sleep")
      .param("seconds", R"({"type":"number","minimum":0})")
      .returns("nil").doc("Suspends the spell (not the process) for the given seconds")
      .async([](CallContext& cx, Args a) { return cx.loop.sleep(a[0].asNumber()); });
  r.fn("", "channel")
      .opt("capacity", R"({"type":"integer","minimum":0,"default":0})")
      .returns("channel").doc("A channel; capacity 0 means every send waits for a receiver")
      .sync([](CallContext&, Args a) -> Value {
        return Value(HostObjectPtr(std::make_shared<Channel>(static_cast<size_t>(a[0].asInt()))));
      });
  r.method("channel", "send")
      // Not nil: recv's nil means "closed and drained".
      .param("self", R"({"type":"handle"})")
      .param("value", R"({"type":["string","number","boolean","object","array","bytes","function","promise","error","handle"]})")
      .returns("true").doc("Sends a value (not nil), waiting while the channel is full")
      .async([](CallContext&, Args a) {
        auto& ch = channelOf(a[0]);
        auto p = ch.send(a[1]);
        ch.notify();
        return p;
      });
  r.method("channel", "recv")
      .param("self", R"({"type":"handle"})")
      .returns("the next value, or nil once closed and drained").doc("Receives, waiting for a value")
      .async([](CallContext&, Args a) { return channelOf(a[0]).recv(); });
  r.method("channel", "try_recv")
      .param("self", R"({"type":"handle"})")
      .returns("the next value, or nil when none is ready").doc("Receives without waiting")
      .sync([](CallContext&, Args a) -> Value {
        Value v;
        channelOf(a[0]).tryRecv(v);
        return v;
      });
  r.method("channel", "close")
      .param("self", R"({"type":"handle"})")
      .returns("nil").doc("Closes; receivers get nil once drained")
      .sync([](CallContext&, Args a) -> Value {
        auto& ch = channelOf(a[0]);
        ch.close();
        ch.notify();
        return Value();
      });
  r.method("channel", "len")
      .param("self", R"({"type":"handle"})")
      .returns("integer").doc("Buffered values")
      .sync([](CallContext&, Args a) -> Value { return Value(static_cast<int64_t>(channelOf(a[0]).size())); });
  // Named recv_any, not select: Lua's own select('#', ...) must keep working.
  r.fn("", "recv_any")
      .param("channels", R"({"type":"array","items":{"type":"handle"}})")
      .opt("timeout", R"({"type":"number","minimum":0})")
      .returns("{index, value}, or nil on timeout").doc("Receives from whichever channel is ready first")
      .async([](CallContext& cx, Args a) -> PromisePtr {
        std::vector<Channel*> chans;
        std::vector<HostObjectPtr> keep;
        for (const auto& v : a[0].asArray()) {
          chans.push_back(&channelOf(v));
          keep.push_back(v.asHandle());
        }
        auto out = Promise::create();
        auto attempt = std::make_shared<std::function<bool()>>();
        *attempt = [out, chans, keep]() {
          for (size_t i = 0; i < chans.size(); ++i) {
            Value v;
            if (chans[i]->tryRecv(v) || chans[i]->closed()) {
              out->resolve(Value::object({{"index", static_cast<int64_t>(i + 1)}, {"value", v}}));
              return true;
            }
          }
          return false;
        };
        if ((*attempt)()) return out;
        // Watchers fire once per notify; re-arm while nothing could be received.
        auto arm = std::make_shared<std::function<void()>>();
        *arm = [out, attempt, chans, w = std::weak_ptr<std::function<void()>>(arm)] {
          for (auto* ch : chans) {
            ch->onReady([out, attempt, w] {
              if (!out->pending() || (*attempt)()) return;
              if (auto again = w.lock()) (*again)();
            });
          }
        };
        (*arm)();
        out->onSettle([arm](const Promise&) {});  // keeps `arm` alive until settled
        if (a[1].isNumber()) {
          auto t = cx.loop.setTimeout(a[1].asNumber(), [out] { out->resolve(Value()); });
          out->onSettle([t](const Promise&) mutable { t.cancel(); });
        }
        return out;
      });
}

}  // namespace llmspell
